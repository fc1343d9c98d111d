// How a reward model trained on chat-rendered conversations reads a (prompt, completion): through the
// chat template it was trained with, into the same ids training gave the same pair, so every scorer
// (PPO, best-of-N, ReST, `rlhf score`, `rlhf serve-reward`) scores on the distribution it learned.
//
// The rule, in order:
//   1. The pair's messages, when the caller has them (a conversational comparison; a policy that rendered
//      its prompt with a chat template passes the prompt's messages): rendered as training rendered them.
//   2. A prompt that already holds this template's rendering (it begins as every rendering begins and ends
//      with the generation cue, e.g. `rlhf sample --chat` output): kept as it is, and the completion follows
//      it as the template writes an answer (Qwen3's empty think block, the text, the end-of-turn string).
//      Never rendered twice.
//   3. Any other prompt: one user message, the completion the assistant's answer.
// The ids are the prompt and the answer through its end-of-turn token; the score is read at that token.

import { type ChatMessage, ChatTemplate, commonPrefix } from './chat-template.js';
import { type ChatTokenizer, encodeChatCompletion, encodeSplit } from './chat-encode.js';

/** A scored pair's messages: the prompt's, and the completion's (default: its text as one assistant message). */
export interface RewardChat {
  prompt: readonly ChatMessage[];
  completion?: readonly ChatMessage[];
}

/**
 * A prompt's and answer's ids as one scored sequence of at most T tokens: a long answer keeps its last token
 * (the end-of-turn token that carries the judgement), and the prompt is cut from its start.
 */
export function fitScoredIds(p: { prompt: number[]; completion: number[] }, T: number): number[] {
  const c = p.completion.length > T - 1 ? [...p.completion.slice(0, T - 2), p.completion.at(-1)!] : p.completion;
  const room = T - c.length;
  return [...(p.prompt.length > room ? p.prompt.slice(p.prompt.length - room) : p.prompt), ...c];
}

/** A conversational pair's ids as a chat reward model is trained on them and scores them (rule 1). */
export function encodeChatForReward(
  tok: ChatTokenizer,
  template: ChatTemplate,
  prompt: readonly ChatMessage[],
  completion: readonly ChatMessage[],
  T: number,
): number[] {
  return fitScoredIds(encodeChatCompletion(tok, template, prompt, completion), T);
}

/** What marks a rendered prompt and what the template writes around an answer, from probe renderings. */
interface AnswerFrame {
  /** What every rendering begins with ("<|im_start|>", "<s>[INST] "). */
  opening: string;
  /** What the generation cue adds after the prompt ("<|im_start|>assistant\n"); "" for templates without one. */
  cue: string;
  /** Written between the cue and the answer's text (Qwen3's "<think>\n\n</think>\n\n"), and after it. */
  before: string;
  after: string;
}

const PROBE_Q = 'ProbeRewardQuestionQ7';
const PROBE_Q2 = 'ProbeOtherQuestionK3';
const PROBE_SYSTEM = 'ProbeRewardSystemS5';
const PROBE_A = 'ProbeRewardAnswerA7';

const frames = new WeakMap<ChatTemplate, AnswerFrame | null>();

function probeFrame(t: ChatTemplate): AnswerFrame | null {
  const user = (content: string): ChatMessage => ({ role: 'user', content });
  const bare = t.render([user(PROBE_Q)]);
  let opening = commonPrefix(bare, t.render([user(PROBE_Q2)]));
  try {
    opening = commonPrefix(opening, t.render([{ role: 'system', content: PROBE_SYSTEM }, user(PROBE_Q)]));
  } catch {
    // A template that refuses system messages: every rendering begins with a user turn.
  }
  const cued = t.render([user(PROBE_Q)], { addGenerationPrompt: true });
  const cue = cued.startsWith(bare) ? cued.slice(bare.length) : '';
  const full = t.render([user(PROBE_Q), { role: 'assistant', content: PROBE_A }]);
  // NOTE: from where the cued prompt and the whole conversation part, as encodeChatCompletion splits them: a
  // cue the conversation does not repeat (DeepSeek-R1's "<think>\n") stays the prompt's.
  const start = commonPrefix(cued, full).length;
  const at = full.indexOf(PROBE_A, start);
  if (at < 0) return null;
  const tail = full.slice(at + PROBE_A.length);
  let end = -1;
  for (const s of t.endOfTurn) {
    const i = s ? tail.indexOf(s) : -1;
    if (i >= 0 && (end < 0 || i + s.length < end)) end = i + s.length;
  }
  // A cue the conversation does not repeat is already in the rendered prompt: nothing more goes before the answer.
  const before = start === cued.length ? full.slice(start, at) : '';
  return { opening, cue, before, after: tail.slice(0, Math.max(0, end)) };
}

function answerFrame(t: ChatTemplate): AnswerFrame | null {
  if (!frames.has(t)) {
    let f: AnswerFrame | null;
    try {
      f = probeFrame(t);
    } catch {
      f = null; // a template that refuses the probe has no frame: its prompts are never taken as rendered
    }
    frames.set(t, f);
  }
  return frames.get(t)!;
}

/**
 * True when `prompt` already holds this template's rendering of a conversation with the generation cue: it
 * begins with what every rendering begins with and ends with the cue (at least one of the two non-empty).
 */
export function isRenderedPrompt(template: ChatTemplate, prompt: string): boolean {
  const f = answerFrame(template);
  if (!f || (f.opening === '' && f.cue === '')) return false;
  return prompt.startsWith(f.opening) && prompt.endsWith(f.cue);
}

/** A rendered prompt (rule 2) followed by the completion as the template writes an answer, cut to T. */
export function encodeRenderedForReward(
  tok: ChatTokenizer,
  template: ChatTemplate,
  prompt: string,
  completion: string,
  T: number,
): number[] {
  const f = answerFrame(template);
  if (!f) throw new Error(`${template.source}: cannot find how the chat template writes an answer after a prompt`);
  return fitScoredIds(encodeSplit(tok, prompt + f.before + completion + f.after, prompt.length), T);
}

/** A (prompt, completion) as a chat reward model scores it, by the rule at the top of this file. */
export function chatRewardIds(
  tok: ChatTokenizer,
  template: ChatTemplate,
  prompt: string,
  completion: string,
  chat: RewardChat | undefined,
  T: number,
): number[] {
  const answer: ChatMessage[] = [{ role: 'assistant', content: completion }];
  if (chat) return encodeChatForReward(tok, template, chat.prompt, chat.completion ?? answer, T);
  if (isRenderedPrompt(template, prompt)) return encodeRenderedForReward(tok, template, prompt, completion, T);
  return encodeChatForReward(tok, template, [{ role: 'user', content: prompt }], answer, T);
}

/**
 * The template as a reward model scores with it: with the tokenizer's special tokens, so the end-of-turn
 * string is found the same way at training and after loading, whichever files supplied the template.
 */
export function withTokenizerSpecials(template: ChatTemplate, specials: readonly string[]): ChatTemplate {
  const missing = specials.filter((s) => !template.specialTokens.includes(s));
  if (missing.length === 0) return template;
  return new ChatTemplate(template.text, {
    source: template.source,
    bosToken: template.bosToken,
    eosToken: template.eosToken,
    specialTokens: [...template.specialTokens, ...missing],
  });
}
