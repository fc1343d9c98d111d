import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { generate } from '../runtime/sample.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-sft-'));

/** A small synthetic corpus with learnable structure. */
function corpus(n: number): string {
  const rng = new RNG(4);
  const subj = ['the cat', 'a dog', 'my friend', 'the bird'],
    verb = ['sees', 'likes', 'finds'],
    obj = ['the ball.', 'a tree.', 'the sun.'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${subj[rng.int(4)]} ${verb[rng.int(3)]} ${obj[rng.int(3)]}`);
  return out.join(' ');
}

const base = {
  ...defaultSFTConfig,
  preset: 'tiny',
  vocabSize: 300,
  contextLength: 32,
  batchSize: 8,
  lr: 1e-2,
  warmupSteps: 5,
  evalEvery: 0,
  quiet: true,
};
const silent = () => {};

describe('SFT', () => {
  it('pretraining on a .txt file lowers the loss and writes a loadable checkpoint with metrics', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'corpus.txt'), corpus(400));
    const out = join(dir, 'ckpt');
    const r = trainSFT({ ...base, data: join(dir, 'corpus.txt'), outDir: out, steps: 60 }, silent);
    assert.ok(r.finalLoss < r.firstLoss * 0.6, `loss ${r.firstLoss} → ${r.finalLoss}`);
    assert.ok(r.lastEval['eval/loss'] < r.firstLoss);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 60);
    assert.ok('train/loss' in lines[0] && 'train/lr' in lines[0] && 'eval/loss' in lines[59]);
    const ck = loadCheckpoint(out);
    assert.ok(ck.tokenizer);
    const gen = generate(ck.model, [ck.tokenizer!.encode('the cat')], { maxNewTokens: 6, temperature: 0 });
    assert.equal(gen[0].tokens.length, 6);
  });

  it('the same seed gives the same run, and a resumed run equals one run straight through', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'c.txt'), corpus(200));
    const cfg = { ...base, data: join(dir, 'c.txt'), steps: 12 };
    trainSFT({ ...cfg, outDir: join(dir, 'a') }, silent);
    trainSFT({ ...cfg, outDir: join(dir, 'b') }, silent);
    trainSFT({ ...cfg, outDir: join(dir, 'c'), stopAfter: 5 }, silent);
    const resumed = trainSFT({ ...cfg, outDir: join(dir, 'c'), resume: true }, silent);
    assert.equal(resumed.startStep, 5);
    const a = loadCheckpoint(join(dir, 'a')).model;
    for (const other of ['b', 'c']) {
      const m = loadCheckpoint(join(dir, other)).model;
      a.params.forEach((p, i) => assert.deepEqual(p.data, m.params[i].data, `${other}: ${p.name}`));
    }
    const metrics = readFileSync(join(dir, 'c', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(metrics.length, 12);
  });

  it('resuming fine-tuning on prompt/completion pairs is exact too', () => {
    const dir = tmp();
    const file = join(dir, 'pairs.jsonl');
    writeFileSync(
      file,
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Q${i}: `, completion: `a${i % 7}.` })).join('\n'),
    );
    const cfg = { ...base, data: file, steps: 10, batchSize: 6 };
    trainSFT({ ...cfg, outDir: join(dir, 'a') }, silent);
    trainSFT({ ...cfg, outDir: join(dir, 'b'), stopAfter: 4 }, silent);
    trainSFT({ ...cfg, outDir: join(dir, 'b'), resume: true }, silent);
    const a = loadCheckpoint(join(dir, 'a')).model,
      b = loadCheckpoint(join(dir, 'b')).model;
    a.params.forEach((p, i) => assert.deepEqual(p.data, b.params[i].data, p.name));
  });

  it('reports unreadable JSONL lines with file, line and field, and trains on the rest', () => {
    const dir = tmp();
    const file = join(dir, 'pairs.jsonl');
    const good = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ prompt: `Q${i % 5}: `, completion: `answer ${i % 5}.` }),
    );
    writeFileSync(
      file,
      [...good.slice(0, 10), '{"prompt": "x", "completion": 3}', 'not json', ...good.slice(10)].join('\n'),
    );
    const msgs: string[] = [];
    const r = trainSFT({ ...base, data: file, outDir: join(dir, 'o'), steps: 3 }, (m) => msgs.push(m));
    assert.equal(r.skippedRecords, 2);
    assert.ok(
      msgs.some((m) => m.includes('pairs.jsonl:11: field "completion": must be a string')),
      msgs.join('\n'),
    );
    assert.ok(msgs.some((m) => m.includes('pairs.jsonl:12: not valid JSON')));
  });

  it('rejects impossible settings by name', () => {
    assert.throws(() => trainSFT({ ...base, data: 'x.txt', outDir: tmp(), batchSize: 0 }, silent), /batchSize/);
    assert.throws(
      () => trainSFT({ ...base, data: join(tmp(), 'missing.txt'), outDir: tmp() }, silent),
      /file not found/,
    );
    assert.throws(() => trainSFT({ ...base, data: 'x.csv', outDir: tmp() }, silent), /unknown file type/);
  });
});
