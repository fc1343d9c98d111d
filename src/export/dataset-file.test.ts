// JSONL and Parquet files, one file or train/test directories. Parquet files are read back with
// hyparquet (hyparquet-writer's own dependency, an independent reader implementation).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { isEvalKey } from '../data/split.js';
import { ExportTable } from './columns.js';
import { parquetBytes, planOutput, writeTable } from './dataset-file.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-export-file-'));

function table(n: number): ExportTable {
  return {
    columns: [
      { name: 'prompt', type: 'messages' },
      { name: 'chosen', type: 'text' },
      { name: 'margin', type: 'number' },
    ],
    rows: Array.from({ length: n }, (_, i) => ({
      key: `prompt ${i % 7}`,
      values: {
        prompt:
          i % 2
            ? [{ role: 'user', content: `q${i} ünïcödé 🙂` }]
            : [
                { role: 'system', content: 's' },
                { role: 'user', content: `q${i}` },
                { role: 'assistant', content: '' },
              ],
        chosen: ` answer ${i}\nwith "quotes"`,
        margin: i / 4,
      },
    })),
  };
}

async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  const buf = readFileSync(path);
  return parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
}

describe('planOutput', () => {
  it('reads the kind from the path', () => {
    assert.deepEqual(planOutput('a/b.jsonl'), { kind: 'file', format: 'jsonl', path: 'a/b.jsonl' });
    assert.deepEqual(planOutput('b.PARQUET'), { kind: 'file', format: 'parquet', path: 'b.PARQUET' });
    assert.deepEqual(planOutput('out/prefs', { dirFormat: 'parquet' }), {
      kind: 'dir',
      format: 'parquet',
      path: 'out/prefs',
    });
  });

  it('rejects what it cannot write, saying what to give instead', () => {
    assert.throws(() => planOutput('x.jsonl.gz'), /write FILE\.jsonl, FILE\.parquet, or a directory/);
    assert.throws(() => planOutput('x.json'), /json is not written/);
    assert.throws(() => planOutput('x.jsonl', { evalFraction: 0.1 }), /give a directory \(e\.g\. --out x\)/);
    const f = join(tmp(), 'file');
    writeFileSync(f, '');
    assert.throws(() => planOutput(f), /exists and is a file/);
  });
});

describe('writeTable', () => {
  it('writes Parquet that an independent reader gives back row for row, with typed columns', async () => {
    const t = table(25);
    const file = join(tmp(), 'p.parquet');
    await writeTable(t, planOutput(file));
    assert.deepEqual(
      await readParquet(file),
      t.rows.map((r) => r.values),
    );
    const buf = readFileSync(file);
    const meta = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    assert.equal(Number(meta.num_rows), 25);
    const schema = parquetSchema(meta);
    const kinds = Object.fromEntries(schema.children.map((c) => [c.element.name, c.element]));
    assert.equal(kinds.chosen.converted_type, 'UTF8');
    assert.equal(kinds.margin.type, 'DOUBLE');
    assert.equal(kinds.prompt.converted_type, 'LIST');
    const element = schema.children.find((c) => c.element.name === 'prompt')!.children[0].children[0];
    assert.deepEqual(
      element.children.map((c) => c.element.name),
      ['role', 'content'],
    );
  });

  it('splits a directory export by prompt: no prompt on both sides, every row once', async () => {
    const t = table(40);
    const dir = join(tmp(), 'ds');
    const files = await writeTable(t, planOutput(dir), 0.3);
    assert.deepEqual(
      files.map((f) => [f.split, f.path]),
      [
        ['train', join(dir, 'train.jsonl')],
        ['test', join(dir, 'test.jsonl')],
      ],
    );
    const read = (p: string) =>
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const train = read(files[0].path),
      test = read(files[1].path);
    assert.equal(train.length + test.length, 40);
    const keyOf = (v: { chosen: string }) => `prompt ${Number(/answer (\d+)/.exec(v.chosen)![1]) % 7}`;
    for (const v of test) assert.ok(isEvalKey(keyOf(v), 0.3));
    for (const v of train) assert.ok(!isEvalKey(keyOf(v), 0.3));
    assert.equal(files[0].rows, train.length);
  });

  it('writes Parquet splits into a directory, and only a train file without --eval-fraction', async () => {
    const dir = join(tmp(), 'pq');
    const files = await writeTable(table(10), planOutput(dir, { dirFormat: 'parquet' }));
    assert.deepEqual(
      files.map((f) => f.path),
      [join(dir, 'train.parquet')],
    );
    assert.equal(existsSync(join(dir, 'test.parquet')), false);
    assert.equal((await readParquet(files[0].path)).length, 10);
  });

  it('refuses an empty export and an empty test split', async () => {
    await assert.rejects(
      writeTable({ columns: [{ name: 'prompt', type: 'text' }], rows: [] }, planOutput(join(tmp(), 'e.jsonl'))),
      /no rows/,
    );
    const one: ExportTable = {
      columns: [{ name: 'prompt', type: 'text' }],
      rows: [{ key: 'prompt 0', values: { prompt: 'a' } }],
    };
    const key0InTest = isEvalKey('prompt 0', 0.01);
    await assert.rejects(
      writeTable(one, planOutput(join(tmp(), 'd')), 0.01),
      key0InTest ? /every prompt fell in the test split/ : /no prompt of 1 fell in the test split/,
    );
  });

  it('catches rows that do not match their columns before writing anything', async () => {
    const bad: ExportTable = {
      columns: [{ name: 'margin', type: 'number' }],
      rows: [{ key: 'k', values: { margin: Number.NaN } }],
    };
    const file = join(tmp(), 'never.jsonl');
    await assert.rejects(writeTable(bad, planOutput(file)), /row 0: column "margin" must be number/);
    assert.equal(existsSync(file), false);
    // "PAR1"
    assert.equal(parquetBytes({ columns: bad.columns, rows: [{ key: 'k', values: { margin: 2 } }] })[0], 0x50);
  });
});
