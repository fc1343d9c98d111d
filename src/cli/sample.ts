// `rlhf sample`: generate from a checkpoint.

import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { generate } from '../model/sample.js';
import { loadRewardFn } from '../judge/reward-fn.js';
import { bestOfN, bestOfNKL } from '../train/best-of-n.js';
import { collect, floatArg, intArg } from './args.js';
import { loadPolicy, loadPrompts } from './inputs.js';

export interface SampleRecord {
  prompt: string;
  completion: string;
  /** 0-based index among the samples of the same prompt. */
  sample: number;
  finish_reason: string;
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate completions from a checkpoint')
    .requiredOption('--model <dir>', 'checkpoint directory (config.json, model.safetensors, tokenizer.json)')
    .option('--prompt <text>', 'a prompt (repeatable)', collect, [])
    .option('--prompts <file>', 'JSONL file of {"prompt": …} records')
    .option('-n, --num-samples <n>', 'samples per prompt', intArg(1), 1)
    .option('--max-new-tokens <n>', 'most tokens to generate', intArg(1), 64)
    .option('--temperature <x>', 'softmax temperature (0 = greedy)', floatArg(0), 1)
    .option('--top-k <n>', 'sample from the k most likely tokens (0 = all)', intArg(0), 0)
    .option('--top-p <x>', 'nucleus sampling: smallest set with this probability', floatArg(0, 1), 1)
    .option('--stop <text>', 'stop after this text (repeatable; each must be one token); the end-of-text token always stops', collect, [])
    .option('--batch-size <n>', 'sequences decoded together', intArg(1), 16)
    .option('--seed <n>', 'random seed', intArg(0), 0)
    .option('--out <file>', 'write JSONL records {prompt, completion, sample, finish_reason} here instead of printing text')
    .option('--json', 'print JSONL records to stdout', false)
    .option('--best-of <n>', 'sample n completions per prompt and keep the one --reward scores highest', intArg(1))
    .option('--reward <dir>', 'reward model directory (from `rlhf train reward`) for --best-of')
    .action(async (o) => {
      if ((o.bestOf === undefined) !== (o.reward === undefined)) throw new Error('--best-of N and --reward DIR go together');
      if (o.topP <= 0) throw new Error('--top-p must be > 0');
      const ck = loadPolicy(o.model);
      const tok = ck.tokenizer;
      const prompts: string[] = o.prompts ? [...o.prompt, ...loadPrompts(o.prompts)] : o.prompt;
      if (prompts.length === 0) throw new Error('give --prompt TEXT (repeatable) or --prompts FILE.jsonl');
      const stopTokens = [ck.model.config.eosTokenId];
      for (const s of o.stop as string[]) {
        const ids = tok.encode(s, { allowSpecial: true });
        if (ids.length !== 1) throw new Error(`--stop "${s}" is ${ids.length} tokens; each stop text must be a single token`);
        stopTokens.push(ids[0]);
      }
      if (o.bestOf !== undefined) {
        const results = await bestOfN(ck.model, tok, prompts.flatMap((p) => Array.from({ length: o.numSamples }, () => p)), o.bestOf, loadRewardFn(o.reward), {
          maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, stopTokens, vocabLimit: tok.vocabSize, seed: o.seed,
        }, o.batchSize);
        const lines = results.map((r) => JSON.stringify({ prompt: r.prompt, completion: r.completion, reward: r.reward, rewards: r.rewards, best_of: o.bestOf, finish_reason: r.finish_reason }));
        if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
        else if (o.json) process.stdout.write(lines.join('\n') + '\n');
        else for (const r of results) process.stdout.write(`${r.prompt}${r.completion}\n[reward ${r.reward.toFixed(3)}, best of ${o.bestOf}]\n${'-'.repeat(40)}\n`);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        process.stderr.write(`best-of-${o.bestOf}: mean reward ${mean(results.map((r) => r.reward)).toFixed(3)} (all samples ${mean(results.flatMap((r) => r.rewards)).toFixed(3)}); KL from the policy log N − (N−1)/N = ${bestOfNKL(o.bestOf).toFixed(3)} nats\n`);
        return;
      }
      const jobs: { prompt: string; ids: number[]; sample: number }[] = [];
      for (const p of prompts) {
        // An empty prompt starts from the end-of-text token, like GPT-2's unconditional samples.
        const ids = p.length ? tok.encode(p) : [tok.eosId];
        for (let s = 0; s < o.numSamples; s++) jobs.push({ prompt: p, ids, sample: s });
      }
      const records: SampleRecord[] = [];
      for (let i = 0; i < jobs.length; i += o.batchSize) {
        const batch = jobs.slice(i, i + o.batchSize);
        const gens = generate(ck.model, batch.map((j) => j.ids), {
          maxNewTokens: o.maxNewTokens,
          temperature: o.temperature,
          topK: o.topK,
          topP: o.topP,
          stopTokens,
          vocabLimit: tok.vocabSize,
          seed: o.seed + i,
        });
        gens.forEach((gen, k) => {
          const toks = gen.finishReason === 'stop' ? gen.tokens.slice(0, -1) : gen.tokens;
          records.push({ prompt: batch[k].prompt, completion: tok.decode(toks), sample: batch[k].sample, finish_reason: gen.finishReason });
        });
      }
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
