import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { START, readJSONLFrom, readRanges } from './jsonl-tail.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'rlhf-tail-')), 'metrics.jsonl');
const line = (o: object) => JSON.stringify(o) + '\n';

describe('reading a JSONL file as it grows', () => {
  it('reads complete lines only, and the half-written last one once it is finished', () => {
    const path = tmp();
    writeFileSync(path, line({ step: 1, loss: 2 }) + '{"step": 2, "lo');
    const a = readJSONLFrom(path);
    assert.deepEqual(
      a.records.map((r) => r.value),
      [{ step: 1, loss: 2 }],
    );
    assert.equal(a.offset, line({ step: 1, loss: 2 }).length, 'stops before the unfinished line');
    assert.equal(a.line, 1);
    assert.deepEqual(a.problems, []);
    appendFileSync(path, 'ss": 1.5}\n' + line({ step: 3, loss: 1 }));
    const b = readJSONLFrom(path, a);
    assert.equal(b.reset, false);
    assert.deepEqual(
      b.records.map((r) => [r.line, r.value.step]),
      [
        [2, 2],
        [3, 3],
      ],
    );
    assert.deepEqual(readJSONLFrom(path, b).records, [], 'nothing new');
  });

  it('names each bad line (not JSON, not an object) and goes on; blank lines are skipped', () => {
    const path = tmp();
    writeFileSync(path, `${line({ step: 1 })}{"step": 2, oops\n\n[1, 2]\nnull\n${line({ step: 6 })}`);
    const r = readJSONLFrom(path);
    assert.deepEqual(
      r.records.map((x) => x.line),
      [1, 6],
    );
    assert.deepEqual(
      r.problems.map((p) => p.line),
      [2, 4, 5],
    );
    assert.match(r.problems[0].message, /^not JSON \(/);
    assert.equal(r.problems[1].message, 'a JSON array, not an object');
    assert.equal(r.problems[2].message, 'a JSON null, not an object');
  });

  it('a file started again (shorter, or another first line) is read again from its start', () => {
    const path = tmp();
    writeFileSync(path, line({ step: 1, run: 'a' }) + line({ step: 2, run: 'a' }));
    const a = readJSONLFrom(path);
    writeFileSync(path, line({ step: 1, run: 'b' }));
    const shorter = readJSONLFrom(path, a);
    assert.equal(shorter.reset, true);
    assert.deepEqual(
      shorter.records.map((r) => r.value.run),
      ['b'],
    );
    // As long as before, but not the same file: its first line tells.
    writeFileSync(path, line({ step: 1, run: 'c' }) + line({ step: 2, run: 'c' }) + line({ step: 3, run: 'c' }));
    const other = readJSONLFrom(path, a);
    assert.equal(other.reset, true);
    assert.deepEqual(
      other.records.map((r) => r.line),
      [1, 2, 3],
    );
    const missing = readJSONLFrom(join(path, '..', 'none.jsonl'), a);
    assert.deepEqual([missing.reset, missing.records.length, missing.offset], [true, 0, 0]);
  });

  it('stops at its byte budget and says there is more; byte ranges read the lines again', () => {
    const path = tmp();
    const text = Array.from({ length: 100 }, (_, i) => line({ step: i + 1, note: 'é'.repeat(i % 7) })).join('');
    writeFileSync(path, text);
    const seen: number[] = [];
    let cur = { ...START },
      rounds = 0,
      more = true;
    while (more) {
      const r = readJSONLFrom(path, cur, 300);
      seen.push(...r.records.map((x) => x.value.step as number));
      cur = r;
      more = r.more;
      rounds++;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.ok(rounds >= 5, `${rounds} reads of about 300 bytes`);
    assert.equal(cur.offset, Buffer.byteLength(text), 'byte offsets, not characters');
    const all = readJSONLFrom(path);
    const again = readRanges(path, [all.records[6], all.records[99]]);
    assert.deepEqual(
      again.map((r) => r.value),
      [all.records[6].value, all.records[99].value],
    );
  });
});
