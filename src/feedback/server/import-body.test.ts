// A task import read a chunk at a time: the JSON form and the file itself (application/x-ndjson) give
// the same tasks as reading the whole text at once, whatever the escapes at chunk edges; bad bodies
// are 4xx; and a 10 MB import, sent by another process, leaves the event loop free for labelers.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteFeedbackStore } from '../store/sqlite.js';
import { ndjsonSource, readImportJson } from './import-body.js';
import { parseImport, parseImportChunked } from './tasks-import.js';
import { errorOf, fixture } from './test-helpers.js';

/** Task lines with everything that could break at a chunk edge: escaped newlines and backslashes, quotes, unicode. */
function lines(n: number, pad = 400): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      prompt: `Post ${i}: a "quote", a back\\slash, a literal \\n, a real\nnewline, émoji 🙂 ${'x'.repeat(pad)}`,
      completions: [`A ${i} \\\\n ${'\u00e9'.repeat(i % 7)}`, `B ${i} \u2028 tab\t`],
      meta: { i, s: '\\"' },
    }),
  );
}

describe('import bodies read a chunk at a time', () => {
  it('the JSON form and NDJSON give the tasks of reading the text at once, over many chunks', async () => {
    const text = lines(3000).join('\n'); // ~1.5 MB: six chunks and more
    const want = parseImport(text);
    const fromJson = readImportJson(
      Buffer.from(JSON.stringify({ format: 'tasks', jsonl: text, completionsPerTask: 2 })),
    );
    assert.deepEqual(fromJson.body, { format: 'tasks', jsonl: '', completionsPerTask: 2 });
    assert.deepEqual(await parseImportChunked(fromJson.source!), want);
    assert.deepEqual(await parseImportChunked(ndjsonSource(Buffer.from(`${text}\r\n`))), want);
    // Issues keep their line numbers across chunks.
    const broken = [...lines(2000), '{"prompt": "p", "completions": ["a"]}', ...lines(10)].join('\n');
    await assert.rejects(
      parseImportChunked(ndjsonSource(Buffer.from(broken))),
      (e: { issues?: { line: number }[] }) => e.issues?.[0].line === 2001,
    );
  });

  it('bad bodies: 400 invalid_json or bad_request, 413 over the limit; nothing imported', async () => {
    const f = await fixture({ limits: { import: 100_000 } });
    const url = `/api/projects/${f.project}/tasks/import`;
    const json = { 'content-type': 'application/json' };
    const line = JSON.stringify({ prompt: 'p', completions: ['a', 'b'] });
    for (const [body, code] of [
      [`{"jsonl": ${JSON.stringify(line)}, "jsonl": "x"}`, 'invalid_json'],
      [`{"__proto__": {}, "jsonl": ${JSON.stringify(line)}}`, 'invalid_json'],
      [`{"jsonl": ${JSON.stringify(line)}} trailing`, 'invalid_json'],
      [`{"jsonl": "unterminated`, 'invalid_json'],
      ['{"jsonl": "a\\qb"}', 'invalid_json'],
      ['[1, 2]', 'bad_request'],
      [`{"jsonl": 3}`, 'bad_request'],
      [`{"jsonl": ${JSON.stringify(line)}, "extra": 1}`, 'bad_request'],
    ] as const) {
      const r = await f.call('POST', url, f.tokens.admin, body, json);
      assert.equal(r.statusCode, 400, `${body}: ${r.body}`);
      assert.equal(errorOf(r).code, code, body);
    }
    const nd = { 'content-type': 'application/x-ndjson' };
    const bytes = Buffer.concat([
      Buffer.from(`${line}\n{"prompt": "`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('", "completions": ["a", "b"]}'),
    ]);
    const notUtf8 = await f.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${f.tokens.admin}`, ...nd },
      payload: bytes,
    });
    assert.equal(notUtf8.statusCode, 400);
    assert.match(errorOf(notUtf8).message, /not valid UTF-8/);
    const badK = await f.call('POST', `${url}?completionsPerTask=two`, f.tokens.admin, line, nd);
    assert.equal(errorOf(badK).field, 'completionsPerTask');
    const big = await f.call('POST', url, f.tokens.admin, `${line}\n`.repeat(3000), nd);
    assert.equal(big.statusCode, 413);
    assert.match(errorOf(big).message, /limit of 97\.7 KB/);
    assert.equal((await f.store.projectStats(f.project)).tasks, 0);
    const ok = await f.call(
      'POST',
      `${url}?format=tasks`,
      f.tokens.admin,
      `${line}\n${line.replace('"p"', '"q"')}\n`,
      nd,
    );
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().imported, 2);
    await f.store.close();
  });

  for (const form of ['json', 'ndjson'] as const)
    it(`a 10 MB import (${form}) leaves the event loop free: labelers are served while it runs`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rlhf-import-'));
      const store = new SqliteFeedbackStore(join(dir, 'feedback.db'));
      const f = await fixture({}, undefined, store);
      await f.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
      try {
        const text = lines(16_000, 500).join('\n');
        const file = join(dir, 'body');
        writeFileSync(file, form === 'json' ? JSON.stringify({ jsonl: text }) : text);
        // The import comes from another process, as from an admin's browser: its sending is not ours.
        const client =
          `const fs = require('fs'); fetch(process.argv[1], { method: 'POST', body: ` +
          `fs.readFileSync(process.argv[2]),
          headers: { authorization: 'Bearer ' + process.argv[3], 'content-type': process.argv[4] } })
          .then(async (r) => process.stdout.write(r.status + ' ' + (await r.text()).slice(0, 200)));`;
        let gap = 0;
        let last = performance.now();
        const probe = setInterval(() => {
          gap = Math.max(gap, performance.now() - last);
          last = performance.now();
        }, 5);
        const t0 = performance.now();
        const child = spawn(process.execPath, [
          '-e',
          client,
          `${base}/api/projects/${f.project}/tasks/import`,
          file,
          f.tokens.admin,
          form === 'json' ? 'application/json' : 'application/x-ndjson',
        ]);
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const served: number[] = [];
        const labeler = (async () => {
          while (child.exitCode === null) {
            const r = await fetch(`${base}/api/projects/${f.project}/progress`, {
              headers: { authorization: `Bearer ${f.tokens.ann}` },
            });
            if (r.ok) served.push(performance.now());
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        await new Promise((r) => child.once('exit', r));
        const ms = performance.now() - t0;
        clearInterval(probe);
        await labeler;
        assert.match(out, /^201 /, out);
        assert.equal((await store.projectStats(f.project)).tasks, 16_000);
        assert.ok(
          served.length >= 5,
          `the labeler was served ${served.length} times during the ${ms.toFixed(0)} ms import`,
        );
        assert.ok(
          gap < Math.max(250, ms / 4),
          `the event loop stood still at most ${gap.toFixed(0)} ms of ${ms.toFixed(0)}`,
        );
      } finally {
        await f.app.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
