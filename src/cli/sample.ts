// `rlhf sample`: generate from a checkpoint, or from an inference server (--generator URL).

import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { isRewardUrl } from '../train/reward-fn.js';
import { loadRewardFn, probeRewardServer } from '../remote/reward-client.js';
import { bestOfN, bestOfNKL } from '../train/best-of-n.js';
import { GenerationOptions, Generator, LocalGenerator } from '../train/generator.js';
import { sampleOptions } from '../train/sampling-options.js';
import { collect } from './args.js';
import { loadPolicy, loadPrompts } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { addGeneratorOptions, progressLine, remoteGeneratorFrom } from './serve-model.js';

export interface SampleRecord {
  prompt: string;
  completion: string;
  /** 0-based index among the samples of the same prompt. */
  sample: number;
  finish_reason: string;
}

export function registerSample(program: Command): void {
  const cmd = program
    .command('sample')
    .description('generate completions from a checkpoint, or from an inference server (--generator)')
    .option(
      '--model <dir>',
      'checkpoint directory (config.json, model.safetensors, tokenizer.json); not needed with --generator',
    )
    .option('--prompt <text>', 'a prompt (repeatable)', collect, [])
    .option('--prompts <file>', 'JSONL file of {"prompt": …} records')
    .option(
      '--out <file>',
      'write JSONL records {prompt, completion, sample, finish_reason} here instead of printing text',
    )
    .option('--json', 'print JSONL records to stdout', false)
    .option(
      '--reward <dir|url>',
      'reward model directory (from `rlhf train reward`), or the URL of `rlhf serve-reward`, for --best-of',
    );
  addOptions(cmd, sampleOptions);
  addGeneratorOptions(cmd).action(async (o) => {
    const s = readOptions(sampleOptions, o);
    if (s.bestOf > 0 !== (o.reward !== undefined)) throw new Error('--best-of N and --reward DIR|URL go together');
    if (!o.model && !o.generator)
      throw new Error('give --model DIR (sample here) or --generator URL (sample on a server)');
    const prompts: string[] = o.prompts ? [...o.prompt, ...loadPrompts(o.prompts)] : o.prompt;
    if (prompts.length === 0) throw new Error('give --prompt TEXT (repeatable) or --prompts FILE.jsonl');
    const remote = remoteGeneratorFrom(o, {
      batchSize: s.batchSize,
      cacheFile: o.out ? `${o.out}.cache.jsonl` : undefined,
    });
    let gen: Generator;
    if (remote) gen = remote;
    else {
      const ck = loadPolicy(o.model);
      gen = new LocalGenerator(ck.model, ck.tokenizer, { batchSize: s.batchSize });
    }
    const opts: GenerationOptions = {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      stop: s.stop,
      seed: s.seed,
    };
    const onProgress = remote ? progressLine(remote) : undefined;
    if (s.bestOf > 0) {
      // Fail before generating when the reward server is down.
      if (isRewardUrl(o.reward)) await probeRewardServer(o.reward);
      const results = await bestOfN(
        gen,
        prompts.flatMap((p) => Array.from({ length: s.numSamples }, () => p)),
        s.bestOf,
        loadRewardFn(o.reward),
        opts,
        onProgress,
      );
      const lines = results.map((r) =>
        JSON.stringify({
          prompt: r.prompt,
          completion: r.completion,
          reward: r.reward,
          rewards: r.rewards,
          best_of: s.bestOf,
          finish_reason: r.finish_reason,
        }),
      );
      if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
      else if (o.json) process.stdout.write(lines.join('\n') + '\n');
      else
        for (const r of results)
          process.stdout.write(
            `${r.prompt}${r.completion}\n[reward ${r.reward.toFixed(3)}, best of ${s.bestOf}]\n${'-'.repeat(40)}\n`,
          );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stderr.write(
        `best-of-${s.bestOf}: mean reward ${mean(results.map((r) => r.reward)).toFixed(3)} (all samples ` +
          `${mean(results.flatMap((r) => r.rewards)).toFixed(3)}); KL from the policy log N − (N−1)/N = ` +
          `${bestOfNKL(s.bestOf).toFixed(3)} nats\n`,
      );
      return;
    }
    const results = await gen.generate(
      prompts.map((prompt) => ({ prompt, n: s.numSamples })),
      opts,
      onProgress,
    );
    const records: SampleRecord[] = results.flatMap((r) =>
      r.completions.map((c, sample) => ({
        prompt: r.prompt,
        completion: c.text,
        sample,
        finish_reason: c.finishReason,
      })),
    );
    if (o.out) {
      writeFileSync(o.out, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      process.stderr.write(`wrote ${records.length} samples to ${o.out}\n`);
    } else if (o.json) {
      for (const r of records) process.stdout.write(JSON.stringify(r) + '\n');
    } else {
      for (const r of records) process.stdout.write(`${r.prompt}${r.completion}\n${'-'.repeat(40)}\n`);
    }
  });
}
