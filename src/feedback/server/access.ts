// Who may call what: every route of the service in one table, and the one hook that enforces it.
// The hook runs on `onRequest`, before the body is read, so an unauthenticated client cannot make the
// server parse a large body. docs/api.md documents the same table.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { FeedbackStore, User } from '../store/types.js';
import { ApiError } from './errors.js';

/** public: no token; user: any signed-in user; admin / labeler: that role only. */
export type Access = 'public' | 'user' | 'admin' | 'labeler';

export interface RouteSpec {
  method: 'GET' | 'POST';
  url: string;
  access: Access;
  /** The route names a project (`:id`): a labeler must be a member of it; admins see every project. */
  project?: boolean;
  /** `import` routes take large bodies; every other body is small. */
  body?: 'small' | 'import';
  summary: string;
}

/** Body limits in bytes: judgments and forms are small; task imports carry whole files. */
export const DEFAULT_LIMITS = { small: 64 * 1024, import: 32 * 1024 * 1024 };

export const ROUTES = {
  labelerPage: { method: 'GET', url: '/', access: 'public', summary: 'the labeling page' },
  adminPage: { method: 'GET', url: '/admin', access: 'public', summary: 'the admin page' },
  staticFile: { method: 'GET', url: '/static/:file', access: 'public', summary: "the pages' CSS" },
  module: { method: 'GET', url: '/js/*', access: 'public', summary: "the pages' compiled JavaScript modules" },
  health: { method: 'GET', url: '/api/health', access: 'public', summary: 'liveness' },
  me: { method: 'GET', url: '/api/me', access: 'user', summary: "who the token belongs to, and the server's features" },
  listProjects: { method: 'GET', url: '/api/projects', access: 'user', summary: 'projects (a labeler: only theirs)' },
  createProject: { method: 'POST', url: '/api/projects', access: 'admin', body: 'small', summary: 'create a project' },
  getProject: { method: 'GET', url: '/api/projects/:id', access: 'user', project: true, summary: 'one project' },
  nextTask: {
    method: 'GET',
    url: '/api/projects/:id/next',
    access: 'labeler',
    project: true,
    summary: 'the next task to judge',
  },
  submit: {
    method: 'POST',
    url: '/api/projects/:id/judgments',
    access: 'labeler',
    project: true,
    body: 'small',
    summary: 'submit a judgment (idempotent by submissionId)',
  },
  progress: {
    method: 'GET',
    url: '/api/projects/:id/progress',
    access: 'labeler',
    project: true,
    summary: "the labeler's own counts and agreement",
  },
  stats: {
    method: 'GET',
    url: '/api/projects/:id/stats',
    access: 'admin',
    project: true,
    summary: 'per-labeler throughput and agreement, project agreement',
  },
  addMember: {
    method: 'POST',
    url: '/api/projects/:id/members',
    access: 'admin',
    project: true,
    body: 'small',
    summary: 'add a user to a project',
  },
  importTasks: {
    method: 'POST',
    url: '/api/projects/:id/tasks/import',
    access: 'admin',
    project: true,
    body: 'import',
    summary: 'import tasks from JSONL',
  },
  generateTasks: {
    method: 'POST',
    url: '/api/projects/:id/tasks/generate',
    access: 'admin',
    project: true,
    body: 'small',
    summary: 'generate tasks with the policy',
  },
  exportProject: {
    method: 'GET',
    url: '/api/projects/:id/export',
    access: 'admin',
    project: true,
    summary: 'export judgments as JSONL',
  },
  listUsers: { method: 'GET', url: '/api/users', access: 'admin', summary: 'all users and their projects' },
  createUser: {
    method: 'POST',
    url: '/api/users',
    access: 'admin',
    body: 'small',
    summary: 'create a labeler or admin: a one-time token and sign-in link',
  },
  disableUser: {
    method: 'POST',
    url: '/api/users/:id/disable',
    access: 'admin',
    body: 'small',
    summary: 'disable a user (their work leaves exports and agreement)',
  },
  enableUser: {
    method: 'POST',
    url: '/api/users/:id/enable',
    access: 'admin',
    body: 'small',
    summary: 'enable a disabled user again (their work counts again)',
  },
  reissueToken: {
    method: 'POST',
    url: '/api/users/:id/token',
    access: 'admin',
    body: 'small',
    summary: 'a new token and sign-in link for a user (the old one stops working)',
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
/** How the route modules add a route: by its name in ROUTES, which gives its method, URL and access. */
export type AddRoute = (name: RouteName, opts: { schema?: FastifySchema }, handler: Handler) => void;

/** The signed-in user of a request; id 0 is the admin of `--admin-token`, who has no row in the store. */
export type Principal = Pick<User, 'id' | 'name' | 'role'>;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The `:id` of a project route, checked. */
    projectId?: number;
  }
  interface FastifyContextConfig {
    spec?: RouteSpec;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A positive integer path parameter, or a 400 naming it. */
export function pathId(v: unknown, name = 'id'): number {
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,14}$/.test(v)) {
    throw new ApiError(
      400,
      'bad_request',
      `path parameter "${name}": must be a positive integer, got ${JSON.stringify(v)}`,
      { field: name },
    );
  }
  return Number(v);
}

/**
 * The onRequest hook: authenticates the bearer token, checks the route's role, and for project
 * routes that a labeler is a member of the project. Routes without a spec (404s) pass through.
 */
export function accessHook(store: FeedbackStore, adminToken?: string) {
  const adminHash = adminToken ? sha256(adminToken) : null;
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const spec = request.routeOptions.config.spec;
    if (!spec || spec.access === 'public') return;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m)
      throw new ApiError(
        401,
        'unauthorized',
        'sign in: send the header "Authorization: Bearer <token>" with the token of your sign-in link',
      );
    const token = m[1];
    let who: Principal | null = null;
    // NOTE: compared as hashes of equal length, in constant time.
    if (adminHash && timingSafeEqual(sha256(token), adminHash)) who = { id: 0, name: 'admin', role: 'admin' };
    else who = await store.authenticate(token);
    if (!who)
      throw new ApiError(
        401,
        'unauthorized',
        'the token is unknown or its user is disabled; ask an admin for a new sign-in link',
      );
    if (spec.access === 'admin' && who.role !== 'admin')
      throw new ApiError(403, 'forbidden', `${spec.method} ${spec.url} is for admins only`);
    if (spec.access === 'labeler' && who.role !== 'labeler')
      throw new ApiError(403, 'forbidden', `${spec.method} ${spec.url} is for labelers; sign in with a labeler's link`);
    request.principal = who;
    if (spec.project) {
      const id = pathId((request.params as Record<string, unknown>).id);
      if (who.role !== 'admin' && !(await store.isMember(id, who.id))) {
        throw new ApiError(403, 'forbidden', `you are not a member of project ${id}; ask an admin to add you`);
      }
      request.projectId = id;
    }
  };
}
