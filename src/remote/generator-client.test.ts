import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify, { FastifyInstance } from 'fastify';
import { GenerationRequest } from '../train/generator.js';
import { RemoteGenerator } from './generator-client.js';

type Action = 'ok' | '503' | '429' | '400' | 'drop' | 'html' | 'ignore-n' | 'slow' | 'die';

/**
 * A tiny OpenAI-compatible server whose answers are deterministic ("prompt|seed|j") and whose
 * misbehaviour is scripted: the k-th completions request does script[k] (then 'ok').
 */
async function fakeServer(
  script: Action[] = [],
): Promise<{ url: string; app: FastifyInstance; bodies: any[]; attempts: () => number }> {
  const app = Fastify();
  const bodies: any[] = [];
  let k = 0;
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: 'fake', object: 'model' }] }));
  app.post('/v1/completions', async (req, reply) => {
    const action = script[k++] ?? 'ok';
    const body = req.body as { prompt: string | string[]; n: number; seed?: number };
    if (action === 'drop' || action === 'die') {
      reply.hijack();
      req.raw.socket.destroy();
      if (action === 'die') {
        app.server.close();
        app.server.closeAllConnections();
      }
      return;
    }
    if (action === '503') return reply.status(503).send({ error: { message: 'overloaded' } });
    if (action === '429')
      return reply
        .status(429)
        .header('retry-after', '0')
        .send({ error: { message: 'slow down' } });
    if (action === '400') return reply.status(400).send({ error: { message: 'max_tokens is too large' } });
    if (action === 'html')
      return reply.type('text/html').send('<html><body>502 Bad Gateway from the proxy</body></html>');
    if (action === 'slow') await new Promise((r) => setTimeout(r, 400));
    bodies.push(body);
    const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
    const n = action === 'ignore-n' ? 1 : body.n;
    return {
      object: 'text_completion',
      model: 'fake',
      choices: prompts.flatMap((p, i) =>
        Array.from({ length: n }, (_, j) => ({
          index: i * n + j,
          text: `${p}|${body.seed}|${j}`,
          finish_reason: 'length',
          logprobs: null,
        })),
      ),
    };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, bodies, attempts: () => k };
}

const fast = { retries: 3, backoffMs: 5, maxBackoffMs: 20 };
const reqs: GenerationRequest[] = [
  { prompt: 'p0', n: 3 },
  { prompt: 'p1', n: 3 },
  { prompt: 'p2', n: 3 },
  { prompt: 'p0', n: 2 },
  { prompt: 'p4', n: 3 },
];
const opts = { maxNewTokens: 4, temperature: 1, seed: 100 };
const texts = (r: { completions: { text: string }[] }[]) => r.map((x) => x.completions.map((c) => c.text));

describe('RemoteGenerator against a flaky server', () => {
  it('retries 503, 429 and a dropped connection with backoff, and loses nothing', async () => {
    const s = await fakeServer(['503', 'drop', '429']);
    const logs: string[] = [];
    try {
      const r = await new RemoteGenerator(s.url, {
        ...fast,
        batchSize: 6,
        concurrency: 1,
        log: (m) => logs.push(m),
      }).generate(reqs, opts);
      // Chunks of 2 prompts × 3 with seeds 100 + their offset; p0's second request (n = 2) is a chunk of its own.
      assert.deepEqual(texts(r), [
        ['p0|100|0', 'p0|100|1', 'p0|100|2'],
        ['p1|100|0', 'p1|100|1', 'p1|100|2'],
        ['p2|106|0', 'p2|106|1', 'p2|106|2'],
        ['p0|109|0', 'p0|109|1'],
        ['p4|111|0', 'p4|111|1', 'p4|111|2'],
      ]);
      assert.equal(logs.length, 3);
      assert.match(
        logs[0],
        new RegExp(
          /generator: POST http:\/\/127\.0\.0\.1:\d+\/v1\/completions failed \(HTTP 503 Service Unavailable: /.source +
            /.*overloaded.*\); retry 1\/3 in \d\.\d s/.source,
        ),
      );
      assert.match(logs[1], /other side closed|terminated|socket/i);
      assert.match(logs[2], /HTTP 429/);
      assert.equal(s.attempts(), 4 + 3);
    } finally {
      await s.app.close();
    }
  });

  it('says clearly when the server is down, refuses, times out, or answers something unexpected', async () => {
    const gone = await fakeServer();
    await gone.app.close(); // a port where nothing listens any more
    await assert.rejects(
      new RemoteGenerator(gone.url, { ...fast, log: () => {} }).generate(reqs, opts),
      new RegExp(
        /cannot reach the generator at http:\/\/127\.0\.0\.1:\d+\/v1\/models \(4 attempts over [\d.]+ s\): /.source +
          /fetch failed: ECONNREFUSED.*Is it running\? Start one with `rlhf serve-model/.source,
      ),
    );
    const s = await fakeServer(['400', 'html', 'ignore-n', 'slow', 'slow']);
    try {
      const gen = (o = {}) => new RemoteGenerator(`${s.url}/v1`, { ...fast, concurrency: 1, log: () => {}, ...o });
      await assert.rejects(
        gen().generate(reqs, opts),
        new RegExp(
          /the generator at http:\/\/127\.0\.0\.1:\d+\/v1\/completions refused the request: HTTP 400 Bad /.source +
            /Request: .*max_tokens is too large/.source,
        ),
      );
      assert.equal(s.attempts(), 1, 'a 400 is not retried');
      await assert.rejects(
        gen().generate(reqs, opts),
        /answered HTTP 200 with something that is not JSON: <html><body>502 Bad Gateway from the proxy/,
      );
      await assert.rejects(
        gen().generate([{ prompt: 'x', n: 2 }], opts),
        new RegExp(
          /answered something unexpected \(1 choices for 1 prompt × n=2, expected 2; a server that ignores /.source +
            /"n" \(TGI\) needs --generator-max-n 1\)/.source,
        ),
      );
      await assert.rejects(
        gen({ timeoutMs: 100, retries: 1 }).generate([{ prompt: 'x', n: 1 }], opts),
        new RegExp(
          /the generator at .*\/v1\/completions gave no answer within 0\.1 s \(2 attempts over [\d.]+ s\); /.source +
            /raise RLHF_REMOTE_TIMEOUT/.source,
        ),
      );
      // With maxN = 1 a server that ignores n gets one sample of each prompt per request, each request its own seed.
      s.bodies.length = 0;
      const r = await gen({ maxN: 1 }).generate(
        [
          { prompt: 'x', n: 3 },
          { prompt: 'y', n: 1 },
        ],
        opts,
      );
      assert.deepEqual(texts(r), [['x|100|0', 'x|102|0', 'x|103|0'], ['y|100|0']]);
      assert.ok(s.bodies.every((b) => b.n === 1));
    } finally {
      await s.app.close();
    }
    assert.throws(() => new RemoteGenerator('localhost:8000'), /must start with http:\/\/ or https:\/\//);
  });

  it('resumes after the server dies mid-run: the second run asks only for what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-remote-'));
    const cacheFile = join(dir, 'gen.jsonl');
    const healthy = await fakeServer();
    const want = await new RemoteGenerator(healthy.url, { batchSize: 3 }).generate(reqs, opts);
    await healthy.app.close();

    const dying = await fakeServer(['ok', 'ok', 'die']);
    await assert.rejects(
      new RemoteGenerator(dying.url, { ...fast, batchSize: 3, concurrency: 1, cacheFile, log: () => {} }).generate(
        reqs,
        opts,
      ),
      new RegExp(
        /cannot reach the generator .* — 6 of 14 completions are saved in .*gen\.jsonl; run the same command /.source +
          /again to resume/.source,
      ),
    );
    await dying.app.close();
    assert.equal(readFileSync(cacheFile, 'utf8').trim().split('\n').length, 6);
    // A write cut short by a crash: the next run skips the broken line.
    appendFileSync(cacheFile, '{"o":"abc","p":');

    const again = await fakeServer();
    const logs: string[] = [];
    try {
      const got = await new RemoteGenerator(again.url, { batchSize: 3, cacheFile, log: (m) => logs.push(m) }).generate(
        reqs,
        opts,
      );
      assert.deepEqual(texts(got), texts(want));
      assert.equal(again.bodies.length, 3, 'the two chunks answered before the crash are not asked again');
      assert.match(logs[0], /1 unreadable line\(s\) skipped/);
      const third = await new RemoteGenerator(again.url, { batchSize: 3, cacheFile }).generate(reqs, opts);
      assert.deepEqual(texts(third), texts(want));
      assert.equal(again.bodies.length, 3, 'a finished run is answered from the cache alone');
      // Other settings are other samples.
      await new RemoteGenerator(again.url, { batchSize: 3, cacheFile }).generate(reqs, { ...opts, temperature: 0.5 });
      assert.equal(again.bodies.length, 8);
    } finally {
      await again.app.close();
    }
    assert.ok(existsSync(cacheFile));
  });
});
