// `rlhf sample`: generate from a checkpoint, or from an inference server (--generator URL).

import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { type ChatPrompt, bestOfN, bestOfNKL } from '../train/best-of-n.js';
import { GenerationOptions, type GenerationRequest, Generator, LocalGenerator } from '../train/generator.js';
import { sampleOptions } from '../train/sampling-options.js';
import { collect } from './args.js';
import {
  CHAT_TEMPLATE_FLAG,
  DTYPE_FLAG,
  applyDtypeFlag,
  type PromptRow,
  loadChatTemplateFor,
  loadPolicy,
  loadPromptRows,
  loadPrompts,
} from './inputs.js';
import type { PromptInput } from '../data/text.js';
import { encodePromptMessages } from '../model/chat-encode.js';
import type { ChatMessage } from '../model/chat-template.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { templateOrPlain } from '../train/chat-data.js';
import { monitorBestOfN } from '../train/best-of-n-monitor.js';
import { BEST_OF_MONITOR_KEYS, addMonitorOptions, monitorSetupFrom } from './monitor.js';
import { addOptions, readOptions } from './options.js';
import { addRewardOptions, hasReward, rewardSetFrom } from './reward-options.js';
import { addGeneratorOptions, progressLine, remoteGeneratorFrom } from './serve-model.js';

export interface SampleRecord {
  /** The prompt as the model saw it: with --chat, rendered by the chat template. */
  prompt: string;
  /** With --chat: the prompt's messages. */
  messages?: ChatMessage[];
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
    .option('--prompts <file>', 'JSONL file of {"prompt": "…"} records (with --chat, also {"prompt": [messages]})')
    .option(
      '--chat',
      "render each prompt with the model's chat template (a text prompt as one user message), with the cue " +
        "that starts the assistant's answer, and stop at the template's end-of-turn tokens",
      false,
    )
    .option(...CHAT_TEMPLATE_FLAG)
    .option(...DTYPE_FLAG)
    .option(
      '--out <file>',
      'write JSONL records {prompt, completion, sample, finish_reason} here instead of printing text',
    )
    .option('--json', 'print JSONL records to stdout', false);
  addRewardOptions(cmd, { optional: true, purpose: "for --best-of (the prompt file's other fields are its columns)" });
  addOptions(cmd, sampleOptions);
  addMonitorOptions(cmd, BEST_OF_MONITOR_KEYS);
  addGeneratorOptions(cmd).action(async (o) => {
    applyDtypeFlag(o.dtype);
    const s = readOptions(sampleOptions, o);
    if (s.bestOf > 0 !== hasReward(o)) throw new Error('--best-of N and --reward DIR|URL|MODULE go together');
    if (o.rewardWeights && !hasReward(o)) throw new Error('--reward-weights goes with --reward (and --best-of)');
    if (o.monitorPrompts && !(s.bestOf > 0))
      throw new Error('--monitor-prompts goes with --best-of N here: the monitor sweeps N (docs/training.md)');
    if (!o.model && !o.generator)
      throw new Error('give --model DIR (sample here) or --generator URL (sample on a server)');
    // Text prompts keep their records' other fields, which rewards written as code are given.
    const rows: PromptRow[] = o.prompts && !o.chat ? loadPromptRows(o.prompts) : [];
    const fromFile: PromptInput[] = !o.prompts
      ? []
      : o.chat
        ? loadPrompts(o.prompts, { chat: true })
        : rows.map((row) => row.prompt);
    const inputs: PromptInput[] = [...o.prompt, ...fromFile];
    if (inputs.length === 0) throw new Error('give --prompt TEXT (repeatable) or --prompts FILE.jsonl');
    if (o.chat && !o.model)
      throw new Error(
        '--chat renders prompts with the chat template of --model DIR (with --generator too: the server is sent ' +
          "the rendering's token ids, so it must serve that model's tokenizer); give --model DIR",
      );
    if (!o.chat && o.chatTemplate) throw new Error('--chat-template goes with --chat');
    const remote = remoteGeneratorFrom(o, {
      batchSize: s.batchSize,
      cacheFile: o.out ? `${o.out}.cache.jsonl` : undefined,
    });
    let gen: Generator;
    let requests: GenerationRequest[] = inputs.map((p) => ({ prompt: p as string, n: s.numSamples }));
    let endOfTurn: readonly string[] = [];
    const messagesOf = new Map<number, ChatMessage[]>();
    let tok: Tokenizer | null = null;
    if (remote) gen = remote;
    else {
      const ck = loadPolicy(o.model);
      gen = new LocalGenerator(ck.model, ck.tokenizer, { batchSize: s.batchSize });
      tok = ck.tokenizer;
    }
    if (o.chat) {
      // On a server too, the conversation is rendered here and sent as its token ids.
      const chatTok = tok ?? Tokenizer.load(o.model);
      const own = loadChatTemplateFor(o.chatTemplate, [o.model], chatTok);
      const template = templateOrPlain(own, chatTok);
      if (!own) process.stderr.write(`${o.model}: no chat_template; prompts use ${template.source}\n`);
      endOfTurn = template.endOfTurn;
      requests = inputs.map((p, i) => {
        const messages: ChatMessage[] = typeof p === 'string' ? [{ role: 'user', content: p }] : p;
        messagesOf.set(i, messages);
        const promptIds = encodePromptMessages(chatTok, template, messages);
        return { prompt: template.render(messages, { addGenerationPrompt: true }), n: s.numSamples, promptIds };
      });
    }
    const opts: GenerationOptions = {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      stop: endOfTurn.length ? [...(s.stop ?? []), ...endOfTurn] : s.stop,
      seed: s.seed,
    };
    const onProgress = remote ? progressLine(remote) : undefined;
    if (s.bestOf > 0) {
      // Loaded (and a reward server asked) before generating, so a bad --reward fails first.
      const reward = await rewardSetFrom(o, { rows, promptsFile: o.prompts });
      const monitor = await monitorSetupFrom(o, { keys: BEST_OF_MONITOR_KEYS });
      let N = s.bestOf;
      if (monitor) {
        // The sweep on the held-out prompts chooses N (up to --best-of); the prompts are then sampled with it.
        const sweep = await monitorBestOfN(
          gen,
          remote ? null : (gen as LocalGenerator).tok,
          monitor,
          reward,
          s.bestOf,
          opts,
          (m) => process.stderr.write(`${m}\n`),
          o.out ? `${o.out}.monitor.jsonl` : undefined,
        );
        if (sweep.bestN !== null) {
          N = sweep.bestN;
          const p = sweep.parting;
          process.stderr.write(
            `best-of-N monitor: ${sweep.signal} is best at N = ${N} (3-point moving mean over N = ` +
              `${sweep.points.map((q) => q.n).join(', ')})` +
              (p?.parted ? `; past it the proxy still rose ${p.proxyChangeAfter.toFixed(3)}: over-optimization` : '') +
              `; sampling the prompts with N = ${N}\n`,
          );
        }
      }
      // With --chat, each prompt's messages go to the reward: a chat reward model renders them itself.
      const prompts = requests.flatMap((r, i) => {
        const p: ChatPrompt = { prompt: r.prompt, promptIds: r.promptIds, messages: messagesOf.get(i) };
        return Array.from({ length: s.numSamples }, () => p);
      });
      const results = await bestOfN(gen, prompts, N, reward, opts, onProgress);
      const several = reward.names.length > 1;
      const lines = results.map((r, i) =>
        JSON.stringify({
          prompt: r.prompt,
          ...(prompts[i].messages ? { messages: prompts[i].messages } : {}),
          completion: r.completion,
          reward: r.reward,
          rewards: r.rewards,
          ...(several ? { by_reward: r.byReward } : {}),
          best_of: N,
          finish_reason: r.finish_reason,
        }),
      );
      if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
      else if (o.json) process.stdout.write(lines.join('\n') + '\n');
      else
        for (const r of results)
          process.stdout.write(
            `${r.prompt}${r.completion}\n[reward ${r.reward.toFixed(3)}, best of ${N}]\n${'-'.repeat(40)}\n`,
          );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stderr.write(
        `best-of-${N}: mean reward ${mean(results.map((r) => r.reward)).toFixed(3)} (all samples ` +
          `${mean(results.flatMap((r) => r.rewards)).toFixed(3)}); KL from the policy log N − (N−1)/N = ` +
          `${bestOfNKL(N).toFixed(3)} nats\n`,
      );
      if (several)
        process.stderr.write(
          `best-of-${N}: kept samples' mean ${reward.names
            .map((n) => `${n} ${mean(results.map((r) => r.byReward[n])).toFixed(3)}`)
            .join(', ')}\n`,
        );
      return;
    }
    const results = await gen.generate(requests, opts, onProgress);
    const records: SampleRecord[] = results.flatMap((r, i) =>
      r.completions.map((c, sample) => ({
        prompt: r.prompt,
        ...(messagesOf.has(i) ? { messages: messagesOf.get(i) } : {}),
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
