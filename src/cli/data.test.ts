import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-cli-data-'));

// The command runs in a child process, as a user would run it: stdout, stderr and the exit code
// are its own (capturing process.stdout here would also capture the test reporter's output).
// NOTE: the runner lives in a temp dir, so it imports commander by this repository's path.
const runner = join(dir, 'run.mjs');
writeFileSync(
  runner,
  `
import { Command } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('commander')).href)};
import { registerData } from ${JSON.stringify(new URL('./data.js', import.meta.url).href)};
const program = new Command('rlhf').exitOverride();
registerData(program);
program.parseAsync(process.argv).catch((e) => { if (!e.code?.startsWith('commander.')) ` +
    `process.stderr.write('rlhf: ' + e.message + '\\n'); process.exit(1); });
`,
);

/** Runs `rlhf data …`, returning its stdout, stderr and exit status. */
function run(...args: string[]): { out: string; err: string; status: number } {
  const r = spawnSync(process.execPath, [runner, 'data', ...args], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
}

describe('rlhf data', () => {
  it('convert: TRL implicit → our format and → TRL, reporting bad lines as file:line: field', () => {
    const src = join(dir, 'prefs.jsonl');
    writeFileSync(
      src,
      [
        JSON.stringify({ chosen: 'Q: yes please', rejected: 'Q: no thanks' }),
        JSON.stringify({ chosen: 'Q: only' }),
        JSON.stringify({ chosen: 'Q: fine', rejected: 'Q: bad', margin: 1 }),
      ].join('\n'),
    );
    const ours = join(dir, 'ours.jsonl');
    const r = run('convert', '--in', src, '--out', ours);
    assert.equal(r.status, 0, r.err);
    assert.match(r.err, /prefs\.jsonl:2: field "rejected": missing/);
    assert.match(r.err, /convert: 3 records \(trl\) → 2 comparisons, 1 skipped \(1 field "rejected"\)/);
    const lines = readFileSync(ours, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], {
      prompt: 'Q:',
      completions: [' yes please', ' no thanks'],
      ranking: [0, 1],
      source: 'trl:prefs.jsonl',
    });

    const trl = join(dir, 'trl.jsonl');
    assert.equal(run('convert', '--in', ours, '--out', trl, '--to', 'trl').status, 0);
    assert.deepEqual(JSON.parse(readFileSync(trl, 'utf8').split('\n')[1]), {
      prompt: 'Q:',
      chosen: ' fine',
      rejected: ' bad',
      margin: 1,
    });
  });

  it('pairs: scored items with options, and stats on the result', () => {
    const src = join(dir, 'votes.jsonl');
    writeFileSync(
      src,
      Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `reply number ${i}`, score: i % 7 })).join('\n'),
    );
    const out = join(dir, 'pairs.jsonl');
    const r = run('pairs', '--in', src, '--out', out, '--bucket-size', '5', '--min-score-gap', '2', '--seed', '4');
    assert.equal(r.status, 0, r.err);
    assert.match(
      r.err,
      /pairs: 30 items in 6 buckets of 5: 60 candidate pairs, kept \d+ \(\d+ hard\), dropped \d+ score gap < 2/,
    );
    const s = run('stats', '--in', out, '--json');
    const stats = JSON.parse(s.out);
    assert.equal(stats.format, 'comparison');
    assert.equal(stats.records, stats.pairs);
    assert.ok(stats.records > 0);
  });

  it('rejects bad option values and unknown formats by name', () => {
    const r = run('pairs', '--in', 'x.jsonl', '--out', 'y.jsonl', '--bucket-size', '1');
    assert.match(r.err, /--bucket-size.*expected an integer ≥ 2/);
    const f = run('convert', '--in', 'x.jsonl', '--out', 'y.jsonl', '--format', 'csv');
    assert.match(f.err, /expected one of comparison, trl, trl-unpaired, openai, scored, vader/);
    const m = run('stats', '--in', join(dir, 'missing.jsonl'));
    assert.equal(m.status, 1);
    assert.match(m.err, /rlhf: .*missing\.jsonl: file not found/);
  });
});
