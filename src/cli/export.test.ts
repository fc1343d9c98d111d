// `rlhf export …` end to end through its command-line parser (src/cli/export.ts).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { parquetReadObjects } from 'hyparquet';
import { registerExport } from './export.js';
import { readComparisons } from '../data/read-comparisons.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { attachLora, loraParams } from '../model/lora.js';
import { Graph } from '../engine/graph.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-export-cli-'));

/** Runs `rlhf export ARGS`, returning what it printed; a failure rejects with its message. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command('rlhf').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerExport(program);
  program.commands.forEach(function quiet(c: Command) {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.commands.forEach(quiet);
  });
  let stdout = '',
    stderr = '';
  const [ow, ew] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'rlhf', 'export', ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { stdout, stderr };
}

// What `rlhf feedback export` writes: our comparison JSONL, with labelers and times.
const feedback = join(dir, 'feedback.jsonl');
writeFileSync(
  feedback,
  Array.from({ length: 30 }, (_, i) =>
    JSON.stringify({
      prompt: `\n\nHuman: Question ${i}?\n\nAssistant:`,
      completions: [` Answer ${i}.`, ` No idea ${i}.`],
      ranking: [i % 2, 1 - (i % 2)],
      confidence: 0.8,
      labeler: 'ann',
      time: '2024-05-01T12:00:00Z',
    }),
  ).join('\n') + '\n',
);

describe('rlhf export (command line)', () => {
  it('preferences: a Parquet train/test directory for TRL, margins from confidence', async () => {
    const out = join(dir, 'prefs');
    const { stderr } = await run(
      'preferences',
      '--data',
      feedback,
      '--out',
      out,
      '--parquet',
      '--eval-fraction',
      '0.2',
      '--margin',
      '--chat',
    );
    assert.match(stderr, /30 comparisons → 30 pairs/);
    assert.match(
      stderr,
      new RegExp(
        /wrote .*train\.parquet \(\d+ rows, train\), .*test\.parquet \(\d+ rows, test\); columns prompt /.source +
          /\(messages\), chosen \(messages\), rejected \(messages\), margin \(number\)/.source,
      ),
    );
    const rows: Record<string, unknown>[] = [];
    for (const split of ['train', 'test']) {
      const buf = readFileSync(join(out, `${split}.parquet`));
      rows.push(
        ...(await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) })),
      );
    }
    assert.equal(rows.length, 30);
    assert.ok(rows.every((r) => r.margin === 0.8));
    const q7 = rows.find((r) => (r.prompt as { content: string }[])[0].content === 'Question 7?')!;
    assert.deepEqual(q7.chosen, [{ role: 'assistant', content: 'No idea 7.' }]);
  });

  it('preferences: OpenRLHF JSONL, with the flags that name its columns', async () => {
    const out = join(dir, 'orl.jsonl');
    const { stderr } = await run('preferences', '--data', feedback, '--out', out, '--format', 'openrlhf');
    assert.match(
      stderr,
      /OpenRLHF flags for these columns: --prompt_key prompt --chosen_key chosen --rejected_key rejected\n/,
    );
    assert.equal(readComparisons(out).comparisons.length, 30);
  });

  it('checks --out before reading anything', async () => {
    await assert.rejects(
      run('preferences', '--data', join(dir, 'missing.jsonl'), '--out', join(dir, 'x.jsonl.gz')),
      /write FILE\.jsonl, FILE\.parquet, or a directory/,
    );
    await assert.rejects(
      run('prompts', '--data', feedback, '--out', join(dir, 'one.jsonl'), '--parquet'),
      /--parquet is for --out DIR; for one file, name it .*one\.parquet/,
    );
    await assert.rejects(
      run('sft', '--data', feedback, '--out', join(dir, 'sft.jsonl'), '--eval-fraction', '2'),
      /expected a number in \[0, 0\.9\]/,
    );
    await assert.rejects(
      run('preferences', '--data', feedback, '--out', join(dir, 'p.jsonl'), '--format', 'deepspeed'),
      /expected one of trl, openrlhf/,
    );
  });

  it("prompts and sft: each prompt once, each comparison's best completion", async () => {
    const pOut = join(dir, 'prompts.jsonl'),
      sOut = join(dir, 'sft.jsonl');
    await run('prompts', '--data', feedback, '--out', pOut, '--format', 'openrlhf');
    const prompts = readFileSync(pOut, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(prompts.length, 30);
    assert.deepEqual(Object.keys(prompts[0]), ['input']);
    await run('sft', '--data', feedback, '--out', sOut);
    const sft = readFileSync(sOut, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(sft[1], { prompt: '\n\nHuman: Question 1?\n\nAssistant:', completion: ' No idea 1.' });
  });

  it('model and cost', async () => {
    const tok = Tokenizer.train(['the cat sat on the mat '.repeat(20)], { vocabSize: 270 });
    const ck = join(dir, 'ck'),
      out = join(dir, 'hf');
    saveCheckpoint(
      ck,
      createModel(presetConfig('tiny', { vocabSize: tok.vocabSize, nPositions: 16, eosTokenId: tok.eosId }), 1),
      { tokenizer: tok },
    );
    const { stderr } = await run('model', '--model', ck, '--out', out, '--dtype', 'float16');
    assert.match(stderr, /warning: head size 16/);
    assert.match(
      stderr,
      new RegExp(
        /wrote .*: GPT2LMHeadModel, [\d,]+ parameters, float16; model\.safetensors, config\.json, /.source +
          /generation_config\.json, tokenizer\.json/.source,
      ),
    );
    assert.ok(existsSync(join(out, 'merges.txt')));
    const sharded = join(dir, 'hf-sharded');
    const r = await run('model', '--model', ck, '--out', sharded, '--dtype', 'bfloat16', '--max-shard-size', '20KB');
    assert.match(
      r.stderr,
      new RegExp(
        /bfloat16; model-00001-of-0000(\d)\.safetensors, (model-0000\d-of-0000\1\.safetensors, )+/.source +
          /model\.safetensors\.index\.json, config\.json/.source,
      ),
    );
    assert.equal(loadCheckpoint(sharded).model.params.length, loadCheckpoint(ck).model.params.length);
    await assert.rejects(
      run('model', '--model', ck, '--out', sharded, '--max-shard-size', '2 gigs'),
      /option '--max-shard-size <size>' argument '2 gigs' is invalid\. size "2 gigs": expected an integer followed/,
    );

    // A LoRA run's directory: refused as it is (PEFT loads it), merged with --merge.
    const policy = loadCheckpoint(ck).model;
    attachLora(policy, { rank: 2, alpha: 4, dropout: 0, targets: 'all-linear' });
    for (const p of loraParams(policy)) p.data.fill(0.05);
    const adapter = join(dir, 'adapter'),
      merged = join(dir, 'merged');
    saveCheckpoint(adapter, policy, { tokenizer: tok });
    await assert.rejects(run('model', '--model', adapter, '--out', merged), /is a LoRA adapter .*give --merge/);
    await run('model', '--model', adapter, '--out', merged, '--merge');
    const logits = (m: typeof policy) => {
      const g = Graph.inference();
      const y = Float32Array.from(m.forward(g, Int32Array.from([1, 2, 3, 4]), 1, 4).data);
      g.dispose();
      return y;
    };
    const want = logits(policy),
      got = logits(loadCheckpoint(merged).model);
    assert.ok(
      got.every((v, i) => Math.abs(v - want[i]) < 1e-4),
      'the merged model computes what the adapted one did',
    );
    assert.ok(!existsSync(join(merged, 'adapter_config.json')));

    const { stdout } = await run(
      'cost',
      '--params',
      '124M',
      '--prompt-tokens',
      '128',
      '--response-tokens',
      '128',
      '--rollouts',
      '512',
      '--iterations',
      '100',
      '--gpus',
      '8',
      '--gpu',
      'h100',
      '--json',
    );
    const j = JSON.parse(stdout);
    assert.equal(j.run.params, 124e6);
    assert.equal(j.cluster.gpus, 8);
    assert.ok(j.here_seconds.total > 1e6 && j.speedup > 1000, stdout);
    const text = (await run('cost', '--preset', 'small')).stdout;
    assert.match(text, /^PPO: 875,264 parameters, 64 rollouts × \(64 \+ 64\) tokens, 4 epochs, 1000 iterations/);
    await assert.rejects(
      run('cost', '--params', '1M', '--preset', 'small'),
      /exactly one of --params N, --model DIR or --preset NAME/,
    );
  });
});
