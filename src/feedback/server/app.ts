// The labeling service's HTTP server: `buildServer({ store })` returns a fastify app (tests call
// `app.inject`, `rlhf serve` calls `listen`). Routes come from the table in access.ts; bodies are
// checked by JSON schema (unknown fields rejected), and every error is {error: {code, message}}.

import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { FeedbackStore } from '../store/types.js';
import { type AddRoute, DEFAULT_LIMITS, type Handler, ROUTES, type RouteName, accessHook } from './access.js';
import { clientErrorHandler, handleError } from './errors.js';
import type { Readable } from 'node:stream';
import { type ImportSource, ndjsonSource, readBody, readImportJson } from './import-body.js';
import { importFromNdjson } from './schemas.js';
import { registerAdminRoutes, type GenerateFn } from './routes-admin.js';
import { registerLabelerRoutes } from './routes-labeler.js';
import { loadWebAssets, type WebAssets } from './web-assets.js';

export type { GenerateFn } from './routes-admin.js';

export interface ServerOptions {
  store: FeedbackStore;
  /** Makes POST /api/projects/:id/tasks/generate work: n completions for each prompt. */
  generate?: GenerateFn;
  /** A token accepted as an admin besides the store's users (`rlhf serve --admin-token`); never stored. */
  adminToken?: string;
  /** Base URL of sign-in links (default: the address the admin's request arrived on, never its Host header). */
  publicUrl?: string;
  logger?: FastifyServerOptions['logger'];
  /** Body limits in bytes (default 64 KB, and 32 MB for imports). */
  limits?: Partial<typeof DEFAULT_LIMITS>;
  /** The pages' files (default: loaded from src/feedback/web/static and dist/feedback/web). */
  assets?: WebAssets;
}

/**
 * The Content-Security-Policy of every response: scripts and styles only from this origin (no inline
 * script or style, no eval), requests only to this origin, never framed.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

declare module 'fastify' {
  interface FastifyRequest {
    /** An import route's file, read a chunk at a time (import-body.ts). */
    importSource?: ImportSource;
  }
}

/**
 * The body parsers of an import route (in its own context): the body stays bytes, read a chunk of
 * lines at a time later, so that a 30 MB file is never parsed or decoded in one call.
 */
function importParsers(child: FastifyInstance, limit: number): void {
  child.removeContentTypeParser('application/json');
  child.addContentTypeParser('application/json', async (req: FastifyRequest, payload: Readable) => {
    const { body, source } = readImportJson(await readBody(req, payload, limit));
    req.importSource = source;
    return body;
  });
  child.addContentTypeParser('application/x-ndjson', async (req: FastifyRequest, payload: Readable) => {
    req.importSource = ndjsonSource(await readBody(req, payload, limit));
    return importFromNdjson(req.query as Record<string, string | undefined>);
  });
}

export function buildServer(o: ServerOptions): FastifyInstance {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const assets = o.assets ?? loadWebAssets();
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: limits.small,
    exposeHeadRoutes: false,
    clientErrorHandler: clientErrorHandler(SECURITY_HEADERS),
    // NOTE: fastify's defaults silently drop unknown fields and coerce types ("3" → 3); a client
    // with a typo must hear about it instead. verbose: errors carry the schema, for the hints.
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        verbose: true,
      },
    },
  });
  // NOTE: without this, a text/plain body would reach the schema as a string; JSON is the only body
  // (and an import's file as is, application/x-ndjson: see importParsers).
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: 'not_found',
        message: `no route ${req.method} ${req.url.split('?')[0]}; docs/api.md lists the API`,
      },
    }),
  );
  app.addHook('onRoute', (r) => {
    if (!r.config?.spec) throw new Error(`route ${r.method} ${r.url} is not in the access table (access.ts ROUTES)`);
  });
  app.addHook('onRequest', accessHook(o.store, o.adminToken));
  app.addHook('onSend', async (req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    reply.header('Cache-Control', req.url.startsWith('/api/') ? 'no-store' : 'no-cache');
    return payload;
  });

  const registered = new Set<RouteName>();
  const add: AddRoute = (name, opts, handler) => {
    const spec = ROUTES[name];
    if (registered.has(name)) throw new Error(`route ${name} registered twice`);
    registered.add(name);
    const isImport = 'body' in spec && spec.body === 'import';
    const route = {
      method: spec.method,
      url: spec.url,
      schema: opts.schema,
      handler,
      config: { spec },
      bodyLimit: isImport ? limits.import : limits.small,
    };
    if (!isImport) app.route(route);
    else
      app.register(async (child) => {
        importParsers(child, limits.import);
        child.route(route);
      });
  };

  registerLabelerRoutes(add, { store: o.store, features: { generate: !!o.generate } });
  registerAdminRoutes(add, { store: o.store, generate: o.generate, publicUrl: o.publicUrl });
  const page =
    (file: string): Handler =>
    async (_req, reply) => {
      const a = assets.files.get(file)!;
      return reply.type(a.type).send(a.body);
    };
  add('labelerPage', {}, page('index.html'));
  add('adminPage', {}, page('admin.html'));
  add('staticFile', {}, async (req, reply) => {
    const name = (req.params as { file: string }).file;
    const a = name.endsWith('.html') ? undefined : assets.files.get(name);
    if (!a)
      return reply.code(404).send({ error: { code: 'not_found', message: `no static file ${JSON.stringify(name)}` } });
    return reply.type(a.type).send(a.body);
  });
  add('module', {}, async (req, reply) => {
    const path = (req.params as Record<string, string>)['*'];
    const a = assets.modules.get(path);
    if (!a) return reply.code(404).send({ error: { code: 'not_found', message: `no module ${JSON.stringify(path)}` } });
    return reply.type(a.type).send(a.body);
  });

  const missing = (Object.keys(ROUTES) as RouteName[]).filter((n) => !registered.has(n));
  if (missing.length) throw new Error(`routes in the access table without a handler: ${missing.join(', ')}`);
  return app;
}
