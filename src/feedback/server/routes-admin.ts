// The admin routes: projects, users and memberships, task import and generation, statistics, export.

import type { FastifyRequest } from 'fastify';
import { FieldError } from '../../data/field-error.js';
import type { FeedbackStore, ProjectSettings, Role, TaskKind, User } from '../store/types.js';
import { requireCleanText } from '../store/validate.js';
import { type AddRoute, pathId } from './access.js';
import { ApiError } from './errors.js';
import { exportFileName, exportProject, type ExportFormat } from './export.js';
import { stringSource } from './import-body.js';
import { requireProject } from './routes-labeler.js';
import {
  addMemberBody,
  createProjectBody,
  createUserBody,
  emptyBody,
  exportQuery,
  generateBody,
  importBody,
  importQuery,
  isOn,
} from './schemas.js';
import { ImportError, goldNote, groupCompletions, parseImportChunked, type ImportFormat } from './tasks-import.js';
import { projectStatsWithThroughput } from './report.js';

/** Completions for each prompt: n samples of a policy (rlhf serve --policy). */
export type GenerateFn = (prompts: string[], n: number) => Promise<string[][]>;

export interface AdminRouteOptions {
  store: FeedbackStore;
  generate?: GenerateFn;
  /** Base of sign-in links (normalized by publicUrlBase); default: the address the request arrived on. */
  publicUrl?: string;
}

/** The sign-in link of a token: the labeling page (or the admin page) with the token in the fragment. */
export function signInLink(base: string, role: Role, token: string): string {
  // NOTE: the fragment never reaches the server or a Referer header; the page strips it at once.
  return `${base.replace(/\/+$/, '')}${role === 'admin' ? '/admin' : '/'}#token=${encodeURIComponent(token)}`;
}

/**
 * `--public-url` as the base of sign-in links: an http(s) URL without credentials, query or fragment;
 * returned as origin and path (so markup in it arrives percent-encoded), or a FieldError naming it.
 */
export function publicUrlBase(v: string, field = 'publicUrl'): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new FieldError(field, `must be an http(s) URL such as https://label.example.org, got ${JSON.stringify(v)}`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash)
    throw new FieldError(
      field,
      `must be a plain http(s) URL (no user, query or #fragment) such as https://label.example.org, got ` +
        `${JSON.stringify(v)}`,
    );
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The base of a sign-in link: `--public-url`, or else the address this server answered the request
 * on. NOTE: never the Host header, which the client writes: `Host: evil.example` must not turn an
 * admin's link into one that sends the token to evil.example.
 */
function linkBase(req: FastifyRequest, publicUrl?: string): string {
  if (publicUrl) return publicUrl;
  const s = req.socket as { localAddress?: string; localPort?: number; encrypted?: boolean };
  let host = s.localAddress;
  let port = s.localPort;
  const listening = req.server.server.address();
  if (!host && listening && typeof listening === 'object') ({ address: host, port } = listening);
  if (!host || host === '0.0.0.0' || host === '::') host = 'localhost';
  host = host.replace(/^::ffff:/, '');
  const scheme = s.encrypted ? 'https' : 'http';
  const shownPort = port === undefined || port === (scheme === 'https' ? 443 : 80) ? '' : `:${port}`;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}${shownPort}`;
}

export function registerAdminRoutes(add: AddRoute, o: AdminRouteOptions): void {
  const { store } = o;
  const publicUrl = o.publicUrl === undefined ? undefined : publicUrlBase(o.publicUrl);
  let generating = false;

  add('createProject', { schema: { body: createProjectBody } }, async (req, reply) => {
    const b = req.body as { name: string; settings?: Partial<ProjectSettings> };
    return reply.code(201).send({ project: await store.createProject(b.name, b.settings) });
  });

  add('stats', {}, async (req) => {
    await requireProject(store, req.projectId!);
    return projectStatsWithThroughput(store, req.projectId!);
  });

  add('addMember', { schema: { body: addMemberBody } }, async (req) => {
    const { userId } = req.body as { userId: number };
    await store.addMember(req.projectId!, userId);
    return { projectId: req.projectId, userId };
  });

  add('importTasks', { schema: { body: importBody, querystring: importQuery } }, async (req, reply) => {
    const project = await requireProject(store, req.projectId!);
    const b = req.body as {
      jsonl: string;
      format?: ImportFormat | 'auto';
      completionsPerTask?: number;
      kind?: TaskKind;
    };
    let parsed: Awaited<ReturnType<typeof parseImportChunked>>;
    try {
      // Read and stored in chunks: labelers' requests are served in between.
      parsed = await parseImportChunked(req.importSource ?? stringSource(b.jsonl), {
        format: b.format,
        completionsPerTask: b.completionsPerTask,
        kind: b.kind,
      });
    } catch (e) {
      if (e instanceof ImportError)
        throw new ApiError(400, 'bad_request', e.message, { field: 'jsonl', issues: e.issues });
      throw e;
    }
    const ids = await store.addTasks(req.projectId!, parsed.tasks);
    const gold = goldNote(parsed.tasks, project.settings);
    if (gold) parsed.notes.push(gold);
    return reply.code(201).send({
      imported: ids.length,
      taskIds: ids,
      format: parsed.format,
      kinds: parsed.kinds,
      lines: parsed.lines,
      notes: parsed.notes,
    });
  });

  add('generateTasks', { schema: { body: generateBody } }, async (req, reply) => {
    await requireProject(store, req.projectId!);
    if (!o.generate)
      throw new ApiError(
        501,
        'not_configured',
        'this server has no policy to generate with; start it with `rlhf serve --policy DIR`',
      );
    if (generating) {
      reply.header('Retry-After', '10');
      throw new ApiError(503, 'busy', 'a generation is running; try again when it has finished');
    }
    const b = req.body as { prompts: string[]; n?: number; completionsPerTask?: number };
    b.prompts.forEach((p, i) => requireCleanText(p, `prompts[${i}]`));
    const n = b.n ?? 2;
    generating = true;
    let outs: string[][];
    try {
      outs = await o.generate(b.prompts, n);
    } catch (e) {
      throw new ApiError(500, 'generation_failed', `generation failed: ${(e as Error).message}`);
    } finally {
      generating = false;
    }
    const notes: string[] = [];
    const tasks = groupCompletions(
      b.prompts.flatMap((prompt, i) => (outs[i] ?? []).map((completion) => ({ prompt, completion }))),
      b.completionsPerTask ?? 2,
      notes,
    );
    for (const t of tasks) t.meta = { source: 'generate', n };
    const ids = tasks.length ? await store.addTasks(req.projectId!, tasks) : [];
    return reply.code(201).send({ imported: ids.length, taskIds: ids, notes });
  });

  add('exportProject', { schema: { querystring: exportQuery } }, async (req, reply) => {
    const p = await requireProject(store, req.projectId!);
    const q = req.query as Record<string, string | undefined>;
    const format = (q.format ?? 'comparisons') as ExportFormat;
    const r = await exportProject(store, p.id, {
      format,
      margin: isOn(q.margin),
      includeDisabled: isOn(q.includeDisabled),
      skipped: isOn(q.skipped),
    });
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${exportFileName(p.name, format)}"`)
      .header('X-Record-Count', String(r.records))
      .send(r.text);
  });

  add('listUsers', {}, async () => {
    const [users, projects] = await Promise.all([store.listUsers(), store.listProjects()]);
    const out: (User & { projects: number[] })[] = [];
    for (const u of users) {
      const mine: number[] = [];
      for (const p of projects) if (await store.isMember(p.id, u.id)) mine.push(p.id);
      out.push({ ...u, projects: mine });
    }
    return { users: out };
  });

  add('createUser', { schema: { body: createUserBody } }, async (req, reply) => {
    const b = req.body as { name: string; role?: Role; projects?: number[] };
    const role = b.role ?? 'labeler';
    // Check the projects first, so a bad id does not leave a user behind.
    for (const [i, id] of (b.projects ?? []).entries()) {
      if (!(await store.getProject(id)))
        throw new ApiError(404, 'not_found', `field "projects[${i}]": no project ${id}`, { field: `projects[${i}]` });
    }
    const { user, token } = await store.createUser(b.name, role);
    for (const id of b.projects ?? []) await store.addMember(id, user.id);
    return reply
      .code(201)
      .send({ user, token, link: signInLink(linkBase(req, publicUrl), role, token), projects: b.projects ?? [] });
  });

  add('disableUser', { schema: { body: emptyBody } }, async (req) => {
    const id = pathId((req.params as Record<string, unknown>).id);
    if (id === req.principal!.id)
      throw new ApiError(409, 'conflict', 'you cannot disable yourself; sign in as another admin to do it');
    return { user: await store.disableUser(id) };
  });

  add('enableUser', { schema: { body: emptyBody } }, async (req) => {
    return { user: await store.enableUser(pathId((req.params as Record<string, unknown>).id)) };
  });

  add('reissueToken', { schema: { body: emptyBody } }, async (req) => {
    const id = pathId((req.params as Record<string, unknown>).id);
    if (id === req.principal!.id)
      throw new ApiError(
        409,
        'conflict',
        'you cannot replace your own token while signed in with it; ask another admin, or use `rlhf feedback ' +
          'new-token`',
      );
    const { user, token } = await store.reissueToken(id);
    return { user, token, link: signInLink(linkBase(req, publicUrl), user.role, token) };
  });
}
