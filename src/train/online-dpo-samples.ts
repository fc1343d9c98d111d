// Online DPO's samples: two completions of each prompt from a Generator (the built-in engine on the policy,
// or a server with --generator), scored by the reward set, and kept as the ids the loss is taken on.

import type { ChatMessage } from '../model/chat-template.js';
import type { Message } from '../data/formats/chat.js';
import type { PromptInput } from '../data/text.js';
import type { CausalLM } from '../model/causal-lm.js';
import { encodePromptMessages } from '../model/chat-encode.js';
import type { ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import { encodePrompt, promptRoom } from '../model/prompt.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type Completion, type Generator, cutAtStop } from './generator.js';
import type { RewardSet } from './reward-fn.js';

/** A prompt of the data set (text, or messages rendered with the chat template) and its row's other fields. */
export interface PromptRow {
  prompt: PromptInput;
  columns: Record<string, unknown>;
}

/** Two samples of each of B prompts, side by side: sample j of prompt p is entry 2p + j (2B entries each). */
export interface PairSamples {
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

export interface PairSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  stop: string[];
  seed: number;
}

/** A prompt's ids and text: text prompts as they are, conversations rendered with the template. */
function encodeRow(tok: Tokenizer, row: PromptRow, room: number, template: ChatTemplate | null | undefined) {
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
 * The completion as scored and as trained. The built-in engine gives the sampled ids (through the token
 * that ended it). A server gives text: it is encoded again, with end-of-text where it ended by itself.
 */
function completionOf(c: Completion, tok: Tokenizer, stop: string[], maxNewTokens: number) {
  const text = cutAtStop(c.text, stop);
  const finished = c.finishReason === 'stop' || text !== c.text.trimEnd();
  if (c.tokenIds) return { text, finished, ids: c.tokenIds.length ? c.tokenIds : [tok.eosId] };
  const ids = [...tok.encode(text), ...(finished ? [tok.eosId] : [])].slice(0, maxNewTokens);
  return { text, finished, ids: ids.length ? ids : [tok.eosId] };
}

/** The two samples of each row's prompt at step `step` (seed: the run's and the step's), scored. */
export async function samplePairs(
  gen: Generator,
  policy: CausalLM,
  tok: Tokenizer,
  rows: PromptRow[],
  rewards: RewardSet,
  o: PairSampling,
  step: number,
  template?: ChatTemplate | null,
): Promise<PairSamples> {
  const room = promptRoom(policy.config.nPositions, o.maxNewTokens);
  const encoded = rows.map((r) => encodeRow(tok, r, room, template));
  // A conversation's answer ends with the template's end of turn (a single token stops the engine at once).
  const stop = template ? [...new Set([...o.stop, ...template.endOfTurn])] : o.stop;
  const results = await gen.generate(
    encoded.map((e) => ({ prompt: e.text, n: 2, promptIds: e.ids })),
    {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      stop,
      seed: o.seed * 7919 + step,
    },
  );
  const out: Omit<PairSamples, 'scores' | 'perFunction'> = { prompts: [], pairs: [], texts: [], finished: [] };
  const columns: Record<string, unknown>[] = [];
  results.forEach((r, p) => {
    if (r.completions.length !== 2)
      throw new Error(`${gen.name} returned ${r.completions.length} completions of prompt ${p}, expected 2`);
    for (const c of r.completions) {
      const x = completionOf(c, tok, stop, o.maxNewTokens);
      out.prompts.push(encoded[p].text);
      out.texts.push(x.text);
      out.finished.push(x.finished);
      out.pairs.push({ prompt: encoded[p].ids, completion: x.ids });
      columns.push(rows[p].columns);
    }
  });
  // A conversational prompt's messages go with it: a chat reward model renders them itself (model/chat-reward.ts).
  const scored = await rewards.score(
    out.prompts.map((prompt, i) => {
      const row = rows[Math.floor(i / 2)].prompt;
      const messages = typeof row === 'string' ? undefined : (row as ChatMessage[]);
      return { prompt, completion: out.texts[i], columns: columns[i], ...(messages && { messages }) };
    }),
  );
  return { ...out, scores: scored.total, perFunction: scored.perFunction };
}
