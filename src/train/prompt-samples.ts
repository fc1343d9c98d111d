// Sampling prompts of the data set to train on what was sampled (GRPO and RLOO's groups, online DPO's
// pairs): n completions of each prompt from a Generator (the built-in engine on the policy, or a server
// with --generator), scored by the reward set, kept side by side (completion j of prompt p is entry p·n + j)
// as the text the rewards saw and the ids the loss is taken on.

import type { Message } from '../data/formats/chat.js';
import type { PromptInput } from '../data/text.js';
import type { CausalLM } from '../model/causal-lm.js';
import { encodePromptMessages } from '../model/chat-encode.js';
import type { ChatMessage, ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import { encodePrompt, promptRoom } from '../model/prompt.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import type { Completion, GenerationOptions, Generator } from './generator.js';
import type { RewardSet } from './reward-fn.js';

/** A prompt of the data set, and the row's other fields (given to rewards written as code). */
export interface PromptRow {
  /** Text, or messages (conversational) rendered with the chat template. */
  prompt: PromptInput;
  columns: Record<string, unknown>;
}

/** Rows of prompts given as texts (no other fields) or as rows. */
export function promptRowsOf(prompts: readonly (string | PromptRow)[]): PromptRow[] {
  return prompts.map((p) => (typeof p === 'string' ? { prompt: p, columns: {} } : p));
}

/** A completion as scored (without what ended it) and as trained, and whether it ended by itself. */
export interface DecodedCompletion {
  text: string;
  ids: number[];
  finished: boolean;
}

/** n samples of each of B prompts, side by side (n·B entries each). */
export interface ScoredSamples {
  /** Each sample's prompt as the rewards see it (a conversation rendered by the template). */
  prompts: string[];
  /** Prompt ids (cut from the start to leave room for the completion) and the completion's ids as trained. */
  pairs: TokenPair[];
  /** The completions' text as scored: without the stop text or end-of-text that ended them. */
  texts: string[];
  /** True where the completion ended by itself (end-of-text, end of turn or a stop text), not at the length. */
  finished: boolean[];
  /** The weighted total of the rewards, and each reward's own scores. */
  scores: number[];
  perFunction: Record<string, number[]>;
}

export interface PromptSampling {
  /** Samples of each prompt. */
  n: number;
  /** The run's seed: step `step` samples with seed·7919 + step. */
  seed: number;
  /** What the generator is asked for (its stop texts as given: see turnStops). */
  generation: Omit<GenerationOptions, 'seed'>;
}

/** The stop texts with the template's end-of-turn texts (a single token stops the engine at once). */
export function turnStops(stop: string[], template: ChatTemplate | null | undefined): string[] {
  return template ? [...new Set([...stop, ...template.endOfTurn])] : stop;
}

/**
 * The id that ends a completion of a row's prompt when a server gives text only: a conversation's answer
 * ends with the template's end of turn (when it is one token), anything else with end-of-text. Made once
 * per sampling call, so the end of turn is looked up once.
 */
export function endIdOf(tok: Tokenizer, template: ChatTemplate | null): (row: PromptRow) => number {
  const turnEnd = template?.endOfTurn
    .map((s) => tok.encode(s, { allowSpecial: true }))
    .find((ids) => ids.length === 1)?.[0];
  return (row) => (typeof row.prompt === 'string' || turnEnd === undefined ? tok.eosId : turnEnd);
}

/** A prompt's ids and text: text prompts encoded as they are, conversations rendered with the template. */
function encodeRow(tok: Tokenizer, row: PromptRow, room: number, template: ChatTemplate | null) {
  if (typeof row.prompt === 'string') return { text: row.prompt, ids: encodePrompt(tok, row.prompt, room) };
  if (!template)
    throw new Error(
      'a prompt is a list of messages but the policy has no chat template; give --chat-template, or text prompts',
    );
  const messages = row.prompt as Message[];
  const ids = encodePromptMessages(tok, template, messages);
  return { text: template.render(messages, { addGenerationPrompt: true }), ids: ids.slice(-room) };
}

/**
 * The samples of step `step`: o.n of each row's prompt, sampled by `gen`, made into text and ids by
 * `decode`, and scored by `rewards` (each item with its row's columns). Seconds spent are added to `clock`.
 */
export async function sampleScored(
  gen: Generator,
  policy: CausalLM,
  tok: Tokenizer,
  rows: PromptRow[],
  rewards: RewardSet,
  o: PromptSampling,
  step: number,
  template: ChatTemplate | null,
  decode: (c: Completion, row: PromptRow) => DecodedCompletion,
  clock: { generation: number; scoring: number } = { generation: 0, scoring: 0 },
): Promise<ScoredSamples> {
  const now = () => performance.now() / 1000;
  let t0 = now();
  const room = promptRoom(policy.config.nPositions, o.generation.maxNewTokens);
  const encoded = rows.map((r) => encodeRow(tok, r, room, template));
  const results = await gen.generate(
    encoded.map((e) => ({ prompt: e.text, n: o.n, promptIds: e.ids })),
    { ...o.generation, seed: o.seed * 7919 + step, tokenIds: true },
  );
  const out: Omit<ScoredSamples, 'scores' | 'perFunction'> = { prompts: [], pairs: [], texts: [], finished: [] };
  const columns: Record<string, unknown>[] = [];
  results.forEach((r, p) => {
    if (r.completions.length !== o.n)
      throw new Error(`${gen.name} returned ${r.completions.length} completions of prompt ${p}, expected ${o.n}`);
    for (const c of r.completions) {
      const x = decode(c, rows[p]);
      out.prompts.push(encoded[p].text);
      out.texts.push(x.text);
      out.finished.push(x.finished);
      out.pairs.push({ prompt: encoded[p].ids, completion: x.ids });
      columns.push(rows[p].columns);
    }
  });
  clock.generation += now() - t0;

  t0 = now();
  // A conversational prompt's messages go with it: a chat reward model renders them itself (model/chat-reward.ts).
  const scored = await rewards.score(
    out.prompts.map((prompt, i) => {
      const row = rows[Math.floor(i / o.n)].prompt;
      const messages = typeof row === 'string' ? undefined : (row as ChatMessage[]);
      return { prompt, completion: out.texts[i], columns: columns[i], ...(messages && { messages }) };
    }),
  );
  clock.scoring += now() - t0;
  return { ...out, scores: scored.total, perFunction: scored.perFunction };
}
