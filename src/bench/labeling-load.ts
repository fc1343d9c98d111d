// The labeling service's load test: N simulated labelers work through a project against real
// `rlhf serve` processes on loopback (one or several sharing a store), each asking for its next task
// and submitting a judgment as fast as the server answers. It reports throughput and latency
// percentiles per route, and then checks the store itself: every acknowledged judgment is there
// exactly once, no labeler judged a task twice, and no task was judged more often than its overlap.
// Optionally it kills a server with SIGKILL mid-run and starts it again, to show that nothing
// acknowledged is lost. A benchmark, not a test: `npm run bench:labeling` (see docs/measurements.md).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../feedback/store/open.js';
import { maskPassword } from '../feedback/store/pg-location.js';
import { RNG } from '../engine/rng.js';

export interface LoadOptions {
  /** Simulated labelers working at once. */
  labelers: number;
  /** Pairs imported into the project. */
  tasks: number;
  /** Labelers per task. */
  overlap: number;
  /** `rlhf serve` processes sharing the store; labelers are spread over them. */
  servers: number;
  /** A SQLite file or postgres:// URL; default a new SQLite file in a temporary directory. */
  database?: string;
  /** Share of submissions sent twice (a retry after a lost answer), which must not add a judgment. */
  retryShare: number;
  /** Kill server 0 with SIGKILL after this many acknowledged judgments, then start it again (0 = never). */
  killAfter: number;
  seed: number;
}

export const defaultLoadOptions: LoadOptions = {
  labelers: 16,
  tasks: 600,
  overlap: 2,
  servers: 1,
  retryShare: 0.1,
  killAfter: 0,
  seed: 0,
};

export interface RouteStats {
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  backend: 'sqlite' | 'postgres';
  servers: number;
  labelers: number;
  tasks: number;
  overlap: number;
  seconds: number;
  /** Acknowledged new judgments per second over the whole run. */
  judgmentsPerSecond: number;
  /** Latency in milliseconds, as the client saw it. */
  next: RouteStats;
  submit: RouteStats;
  acknowledged: number;
  retriesSent: number;
  /** Requests that failed with a network error (the killed server) and were sent again. */
  networkErrors: number;
  kills: number;
  check: {
    inStore: number;
    missing: number;
    duplicates: number;
    overOverlap: number;
    labelerTwice: number;
    ok: boolean;
  };
}

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/rlhf.js');
const ADMIN_TOKEN = 'load-test-admin-token-0123456789';

/** A seeded uniform generator in [0, 1) (the engine's), so runs with the same seed make the same choices. */
const rng = (seed: number): (() => number) => {
  const r = new RNG(seed);
  return () => r.uniform();
};

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

class ServerProcess {
  child?: ChildProcess;
  constructor(
    readonly port: number,
    readonly database: string,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(this.port), '--database', this.database], {
      env: { ...process.env, RLHF_ADMIN_TOKEN: ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.resume();
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`rlhf serve on port ${this.port} exited with code ${child.exitCode}: ${err.trim()}`);
      try {
        const r = await fetch(`${this.base}/api/health`);
        if (r.ok) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline)
        throw new Error(`rlhf serve on port ${this.port} did not answer within 30 s: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return Promise.resolve();
    return new Promise((res) => {
      c.once('exit', () => res());
      c.kill(signal);
    });
  }
}

function percentiles(xs: number[]): RouteStats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { requests: s.length, p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(s[s.length - 1] ?? NaN) };
}

export async function runLabelingLoad(o: LoadOptions, log: (m: string) => void = () => {}): Promise<LoadResult> {
  if (o.labelers < o.overlap)
    throw new Error(`--labelers ${o.labelers} is less than --overlap ${o.overlap}: some tasks could never be finished`);
  const tmp = mkdtempSync(join(tmpdir(), 'rlhf-load-'));
  const database = o.database ?? join(tmp, 'feedback.db');
  const backend = /^postgres(ql)?:\/\//.test(database) ? 'postgres' : 'sqlite';
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < o.servers; i++) servers.push(new ServerProcess(await freePort(), database));
    // The first server creates or migrates the store before the others open it.
    await servers[0].start();
    await Promise.all(servers.slice(1).map((s) => s.start()));
    log(`load: ${o.servers} server process(es) on ${maskPassword(database)} (${backend})`);

    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(servers[0].base + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const j = (await r.json()) as Record<string, any>;
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
      return j;
    };
    const run = Date.now().toString(36);
    const project = (await admin('POST', '/api/projects', { name: `load ${run}`, settings: { overlap: o.overlap } }))
      .project.id as number;
    const rand = rng(o.seed);
    const jsonl = Array.from({ length: o.tasks }, (_, i) =>
      JSON.stringify({
        prompt: `Post ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}`,
        completions: [`Summary ${i} A ${rand().toString(36)}`, `Summary ${i} B ${rand().toString(36)}`],
      }),
    ).join('\n');
    await admin('POST', `/api/projects/${project}/tasks/import`, { jsonl });
    const tokens: string[] = [];
    for (let i = 0; i < o.labelers; i++)
      tokens.push((await admin('POST', '/api/users', { name: `load-${run}-${i}`, projects: [project] })).token);
    log(`load: project ${project} with ${o.tasks} tasks × overlap ${o.overlap}; ${o.labelers} labelers`);

    const nextMs: number[] = [],
      submitMs: number[] = [];
    const acked = new Map<string, { judgmentId: number; taskId: number; labeler: number }>();
    let retriesSent = 0,
      networkErrors = 0,
      kills = 0,
      restarting: Promise<void> | null = null;

    /** One request; a network error (server killed) waits for the restart and tries again. */
    const call = async (
      labeler: number,
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; json: any; ms: number }> => {
      const server = servers[labeler % servers.length];
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        try {
          const r = await fetch(server.base + path, {
            method,
            headers: { authorization: `Bearer ${tokens[labeler]}`, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const json = await r.json();
          return { status: r.status, json, ms: performance.now() - t0 };
        } catch (e) {
          networkErrors++;
          if (attempt >= 50) throw new Error(`${method} ${path} failed ${attempt + 1} times: ${(e as Error).message}`);
          if (restarting) await restarting;
          await new Promise((r) => setTimeout(r, 50 * Math.min(attempt + 1, 10)));
        }
      }
    };

    const labelerLoop = async (i: number) => {
      const r = rng(o.seed * 1000 + i + 1);
      let n = 0;
      for (;;) {
        const next = await call(i, 'GET', `/api/projects/${project}/next`);
        if (next.status !== 200)
          throw new Error(`labeler ${i}: GET next answered ${next.status} ${JSON.stringify(next.json)}`);
        nextMs.push(next.ms);
        const task = next.json.task;
        if (!task) return;
        const body = {
          taskId: task.taskId,
          submissionId: `l${i}-${n++}`,
          shown: task.shown,
          choice: 1 + Math.floor(r() * 9),
        };
        const sent = await call(i, 'POST', `/api/projects/${project}/judgments`, body);
        if (sent.status !== 201 && sent.status !== 200)
          throw new Error(`labeler ${i}: submit answered ${sent.status} ${JSON.stringify(sent.json)}`);
        submitMs.push(sent.ms);
        const id = sent.json.judgment.id as number;
        acked.set(body.submissionId + `@${i}`, { judgmentId: id, taskId: task.taskId, labeler: i });
        if (r() < o.retryShare) {
          retriesSent++;
          const again = await call(i, 'POST', `/api/projects/${project}/judgments`, body);
          if (again.status !== 200 || again.json.judgment.id !== id) {
            throw new Error(
              `labeler ${i}: a retried submission answered ${again.status} with judgment ` +
                `${again.json.judgment?.id}, not 200 with ${id}`,
            );
          }
        }
        if (o.killAfter > 0 && kills === 0 && acked.size >= o.killAfter && !restarting) {
          kills++;
          log(`load: SIGKILL to server 0 after ${acked.size} acknowledged judgments; starting it again`);
          restarting = servers[0]
            .kill('SIGKILL')
            .then(() => servers[0].start())
            .finally(() => {
              restarting = null;
            });
        }
      }
    };

    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.labelers }, (_, i) => labelerLoop(i)));
    const seconds = (performance.now() - t0) / 1000;
    for (const s of servers) await s.kill('SIGTERM');

    // The check, on the store itself.
    const store = await openStore(database);
    let check: LoadResult['check'];
    try {
      const judgments = (await store.listJudgments(project)).filter((j) => j.status === 'done');
      const byId = new Map(judgments.map((j) => [j.id, j]));
      const ids = new Map<number, number>();
      for (const a of acked.values()) ids.set(a.judgmentId, (ids.get(a.judgmentId) ?? 0) + 1);
      const missing = [...acked.values()].filter(
        (a) => !byId.has(a.judgmentId) || byId.get(a.judgmentId)!.taskId !== a.taskId,
      ).length;
      const perTask = new Map<number, number>(),
        perPair = new Set<string>();
      let labelerTwice = 0;
      for (const j of judgments) {
        perTask.set(j.taskId, (perTask.get(j.taskId) ?? 0) + 1);
        const k = `${j.taskId}/${j.labelerId}`;
        if (perPair.has(k)) labelerTwice++;
        perPair.add(k);
      }
      const overOverlap = [...perTask.values()].filter((c) => c > o.overlap).length;
      // A judgment nobody was told about, or one id acknowledged for two submissions, is a duplicate.
      const duplicates = judgments.filter((j) => !ids.has(j.id)).length + [...ids.values()].filter((c) => c > 1).length;
      check = {
        inStore: judgments.length,
        missing,
        duplicates,
        overOverlap,
        labelerTwice,
        ok:
          missing === 0 &&
          duplicates === 0 &&
          overOverlap === 0 &&
          labelerTwice === 0 &&
          judgments.length === o.tasks * o.overlap,
      };
    } finally {
      await store.close();
    }
    return {
      backend,
      servers: o.servers,
      labelers: o.labelers,
      tasks: o.tasks,
      overlap: o.overlap,
      seconds: Math.round(seconds * 100) / 100,
      judgmentsPerSecond: Math.round((acked.size / seconds) * 10) / 10,
      next: percentiles(nextMs),
      submit: percentiles(submitMs),
      acknowledged: acked.size,
      retriesSent,
      networkErrors,
      kills,
      check,
    };
  } finally {
    for (const s of servers) await s.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}
