// `rlhf board`'s HTTP server: the page, its scripts, and a read-only JSON API over the runs found under
// the directories given. A request names a run by its id from the listing and a file from a fixed list,
// never by a path, so nothing outside those directories (or beside the runs' own files) can be read.

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { join } from 'node:path';
import { type BoardAssets, loadBoardAssets } from './assets.js';
import { type TailCursor, readJSONLFrom } from './jsonl-tail.js';
import { diffConfigs, flatten, readRunConfig } from './run-config.js';
import { type RunDir, type RunScan, SAMPLES_FILE, SERIES_FILES, findRuns, summarizeRun } from './runs.js';
import { SamplesIndex } from './samples-index.js';

export interface BoardOptions {
  /** The directories searched for runs. */
  roots: string[];
  /** How deep below each directory runs are looked for (default 4). */
  depth?: number;
  /** A run whose files have not changed for this long, and that has not ended, is shown as stopped. */
  staleMs?: number;
  /** How often the page asks for what is new (ms). */
  pollMs?: number;
  /** Host names the server answers to (default: any); `rlhf board` on a loopback address gives its own. */
  allowedHosts?: string[];
  assets?: BoardAssets;
}

/**
 * The page's policy, the labeling app's: scripts and styles from this origin only (no inline script, no
 * eval: Vega's expressions are evaluated by vega-interpreter), requests to this origin, never framed;
 * images from data: URLs too (the page's empty icon, which keeps the browser from asking for one).
 */
export const BOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'Content-Security-Policy': BOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

class BadRequest extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | undefined>;

function intParam(q: Query, name: string, fallback: number): number {
  const v = q[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new BadRequest(400, 'bad_request', `${name} must be a non-negative integer, got ${v}`);
  return Number(v);
}

function needParam(q: Query, name: string): string {
  const v = q[name];
  if (!v) throw new BadRequest(400, 'bad_request', `give ${name}=… (a run id from /api/runs)`);
  return v;
}

export function buildBoardServer(o: BoardOptions): FastifyInstance {
  const assets = o.assets ?? loadBoardAssets();
  const depth = o.depth ?? 4;
  const staleMs = o.staleMs ?? 120_000;
  const pollMs = o.pollMs ?? 2000;
  const app = Fastify({ logger: false, exposeHeadRoutes: false });

  // The runs as last found; searched again at most once a second (every page polls).
  let scan: RunScan | null = null,
    scannedAt = 0;
  const runs = (fresh = false): RunScan => {
    if (!scan || fresh || Date.now() - scannedAt > 1000) {
      scan = findRuns(o.roots, depth);
      scannedAt = Date.now();
    }
    return scan;
  };
  const runOf = (q: Query, name = 'run'): RunDir => {
    const id = needParam(q, name);
    const found = runs().runs.find((r) => r.id === id) ?? runs(true).runs.find((r) => r.id === id);
    if (!found) throw new BadRequest(404, 'not_found', `no run ${JSON.stringify(id)} under the board's directories`);
    return found;
  };
  const samples = new Map<string, SamplesIndex>();
  const samplesOf = (run: RunDir) => {
    let s = samples.get(run.dir);
    if (!s) samples.set(run.dir, (s = new SamplesIndex(join(run.dir, SAMPLES_FILE))));
    s.refresh();
    return s;
  };

  app.addHook('onRequest', async (req, reply) => {
    if (!o.allowedHosts) return;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!o.allowedHosts.includes(host))
      return reply.code(403).send({
        error: {
          code: 'forbidden_host',
          message: `this board answers to ${o.allowedHosts.join(', ')}, not ${JSON.stringify(host)}`,
        },
      });
  });
  app.addHook('onSend', async (req, reply, payload) => {
    for (const [k, v] of Object.entries(HEADERS)) reply.header(k, v);
    reply.header('Cache-Control', req.url.startsWith('/api/') ? 'no-store' : 'no-cache');
    return payload;
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BadRequest)
      return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal' : 'bad_request', message: err.message } });
  });
  const notFound = (reply: FastifyReply, what: string) =>
    reply.code(404).send({ error: { code: 'not_found', message: what } });
  app.setNotFoundHandler((req, reply) => notFound(reply, `no route ${req.method} ${req.url.split('?')[0]}`));

  // ---- the page ----
  const send = (reply: FastifyReply, a: { body: Buffer; type: string } | undefined, what: string) =>
    a ? reply.type(a.type).send(a.body) : notFound(reply, `no ${what}`);
  app.get('/', async (_req, reply) => send(reply, assets.files.get('board.html'), 'page'));
  app.get('/static/:file', async (req, reply) => {
    const f = (req.params as { file: string }).file;
    return send(reply, f.endsWith('.html') ? undefined : assets.files.get(f), `static file ${JSON.stringify(f)}`);
  });
  app.get('/vendor/:file', async (req, reply) => {
    const f = (req.params as { file: string }).file;
    return send(reply, assets.vendor.get(f), `bundle ${JSON.stringify(f)}`);
  });
  app.get('/js/*', async (req, reply) => {
    const p = (req.params as Record<string, string>)['*'];
    return send(reply, assets.modules.get(p), `module ${JSON.stringify(p)}`);
  });

  // ---- the API ----
  app.get('/api/runs', async () => {
    const s = runs(true);
    const now = Date.now();
    return {
      roots: s.roots,
      truncated: s.truncated,
      poll_ms: pollMs,
      runs: s.runs.map((r) => summarizeRun(r, staleMs, now)),
    };
  });
  app.get('/api/series', async (req) => {
    const q = req.query as Query;
    const run = runOf(q);
    const file = needParam(q, 'file');
    if (!(SERIES_FILES as readonly string[]).includes(file))
      throw new BadRequest(
        400,
        'bad_request',
        `file must be one of ${SERIES_FILES.join(', ')}, got ${JSON.stringify(file)}`,
      );
    const from: TailCursor = { offset: intParam(q, 'offset', 0), line: intParam(q, 'line', 0), head: q.head ?? '' };
    const r = readJSONLFrom(join(run.dir, file), from);
    return {
      offset: r.offset,
      line: r.line,
      head: r.head,
      reset: r.reset,
      more: r.more,
      records: r.records.map((x) => ({ line: x.line, value: x.value })),
      problems: r.problems,
    };
  });
  app.get('/api/config', async (req) => {
    const run = runOf(req.query as Query);
    const c = readRunConfig(run.dir);
    return { id: run.id, dir: run.dir, ...c, flat: flatten(c.sections) };
  });
  app.get('/api/diff', async (req) => {
    const q = req.query as Query;
    const a = runOf(q, 'a'),
      b = runOf(q, 'b');
    const ca = readRunConfig(a.dir),
      cb = readRunConfig(b.dir);
    return { a: a.id, b: b.id, ...diffConfigs(ca.sections, cb.sections) };
  });
  app.get('/api/samples', async (req) => {
    const s = samplesOf(runOf(req.query as Query));
    return { step_field: s.stepField, steps: s.list(), problems: s.problems };
  });
  app.get('/api/samples/step', async (req) => {
    const q = req.query as Query;
    const s = samplesOf(runOf(q));
    const step = Number(needParam(q, 'step'));
    if (!Number.isFinite(step)) throw new BadRequest(400, 'bad_request', `step must be a number, got ${q.step}`);
    const limit = Math.min(1000, Math.max(1, intParam(q, 'limit', 200)));
    return { step, ...s.read(step, intParam(q, 'from', 0), limit) };
  });
  return app;
}
