// `rlhf board` through the built CLI: it finds the runs under the directory given, serves them on a free
// port, and says where; a directory that is not there is refused, naming it.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const bin = fileURLToPath(new URL('../../bin/rlhf.js', import.meta.url));

describe('rlhf board', () => {
  it('serves the runs under a directory until stopped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rlhf-board-cli-'));
    mkdirSync(join(root, 'ppo'));
    writeFileSync(join(root, 'ppo', 'metrics.jsonl'), '{"iteration": 1, "objective/kl": 0}\n');
    const p = spawn(process.execPath, [bin, 'board', root, '--port', '0', '--poll', '1']);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (d) => {
          out += d;
          const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]);
        });
        p.on('close', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const runs = await (await fetch(`${url}api/runs`)).json();
      assert.deepEqual(
        runs.runs.map((r: { id: string }) => r.id),
        ['ppo'],
      );
      assert.equal(runs.poll_ms, 1000);
      const page = await fetch(url);
      assert.match(page.headers.get('content-type')!, /text\/html/);
    } finally {
      p.kill('SIGINT');
    }
  });

  it('refuses a directory that is not there, and lists its flags in --help', () => {
    const r = spawnSync(process.execPath, [bin, 'board', '/no/such/runs'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/no\/such\/runs: no such directory/);
    const help = spawnSync(process.execPath, [bin, 'board', '--help'], { encoding: 'utf8' }).stdout;
    for (const flag of ['--port', '--host', '--depth', '--poll', '--stale-after']) assert.match(help, new RegExp(flag));
  });
});
