// `rlhf sample`: generate from a checkpoint, or from an inference server (--generator URL).

import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { isRewardUrl } from '../judge/reward-fn.js';
import { loadRewardFn, probeRewardServer } from '../remote/reward-client.js';
import { bestOfN, bestOfNKL } from '../train/best-of-n.js';
import { GenerationOptions, Generator, LocalGenerator } from '../train/generator.js';
import { collect, floatArg, intArg } from './args.js';
import { loadPolicy, loadPrompts } from './inputs.js';
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
    .option('-n, --num-samples <n>', 'samples per prompt', intArg(1), 1)
    .option('--max-new-tokens <n>', 'most tokens to generate', intArg(1), 64)
    .option('--temperature <x>', 'softmax temperature (0 = greedy)', floatArg(0), 1)
    .option('--top-k <n>', 'sample from the k most likely tokens (0 = all)', intArg(0), 0)
    .option('--top-p <x>', 'nucleus sampling: smallest set with this probability', floatArg(0, 1), 1)
    .option(
      '--stop <text>',
      'end a completion at this text, which is left out (repeatable); the end-of-text token always stops',
      collect,
      [],
    )
    .option('--batch-size <n>', 'sequences decoded together (with --generator: completions per request)', intArg(1), 16)
    .option('--seed <n>', 'random seed', intArg(0), 0)
    .option(
      '--out <file>',
      'write JSONL records {prompt, completion, sample, finish_reason} here instead of printing text',
    )
    .option('--json', 'print JSONL records to stdout', false)
    .option('--best-of <n>', 'sample n completions per prompt and keep the one --reward scores highest', intArg(1))
    .option(
      '--reward <dir|url>',
      'reward model directory (from `rlhf train reward`), or the URL of `rlhf serve-reward`, for --best-of',
    );
  addGeneratorOptions(cmd).action(async (o) => {
    if ((o.bestOf === undefined) !== (o.reward === undefined))
      throw new Error('--best-of N and --reward DIR|URL go together');
    if (o.topP <= 0) throw new Error('--top-p must be > 0');
    if (!o.model && !o.generator)
      throw new Error('give --model DIR (sample here) or --generator URL (sample on a server)');
    const prompts: string[] = o.prompts ? [...o.prompt, ...loadPrompts(o.prompts)] : o.prompt;
    if (prompts.length === 0) throw new Error('give --prompt TEXT (repeatable) or --prompts FILE.jsonl');
    const remote = remoteGeneratorFrom(o, {
      batchSize: o.batchSize,
      cacheFile: o.out ? `${o.out}.cache.jsonl` : undefined,
    });
    let gen: Generator;
    if (remote) gen = remote;
    else {
      const ck = loadPolicy(o.model);
      gen = new LocalGenerator(ck.model, ck.tokenizer, { batchSize: o.batchSize });
    }
    const opts: GenerationOptions = {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      stop: o.stop,
      seed: o.seed,
    };
    const onProgress = remote ? progressLine(remote) : undefined;
    if (o.bestOf !== undefined) {
      // Fail before generating when the reward server is down.
      if (isRewardUrl(o.reward)) await probeRewardServer(o.reward);
      const results = await bestOfN(
        gen,
        prompts.flatMap((p) => Array.from({ length: o.numSamples }, () => p)),
        o.bestOf,
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
          best_of: o.bestOf,
          finish_reason: r.finish_reason,
        }),
      );
      if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
      else if (o.json) process.stdout.write(lines.join('\n') + '\n');
      else
        for (const r of results)
          process.stdout.write(
            `${r.prompt}${r.completion}\n[reward ${r.reward.toFixed(3)}, best of ${o.bestOf}]\n${'-'.repeat(40)}\n`,
          );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stderr.write(
        `best-of-${o.bestOf}: mean reward ${mean(results.map((r) => r.reward)).toFixed(3)} (all samples ${mean(results.flatMap((r) => r.rewards)).toFixed(3)}); KL from the policy log N − (N−1)/N = ${bestOfNKL(o.bestOf).toFixed(3)} nats\n`,
      );
      return;
    }
    const results = await gen.generate(
      prompts.map((prompt) => ({ prompt, n: o.numSamples })),
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
