// Conversations as token ids with a model's chat template: the whole conversation with a mask on the
// assistant turns (SFT's assistant-only loss), a prompt with the generation cue (sampling), and a prompt
// and its answer split where the answer begins (DPO, reward models).
//
// Where an assistant turn starts is found by rendering the conversation up to it with the generation cue
// (P): the full rendering (F) must begin with the rendering of the earlier messages, so the turn starts
// where P and F part. Its end is the first end-of-turn string (template.endOfTurn) after its content. Only
// prefixes that end before an assistant message are rendered, never one that ends with an assistant
// message: templates such as Qwen3's render the last assistant message differently (an empty <think>
// block) from the same message followed by more, and that difference is harmless here. A template that
// renders earlier messages differently once more follow (Mistral's, which moves the system message into
// the last user message) has no such boundary, and is refused.
//
// NOTE: the rendered text is encoded with special tokens recognized and nothing added: a template that
// writes bos_token itself would otherwise get a second BOS from a tokenizer that adds one (TRL encodes
// with add_special_tokens=False for the same reason). Message content is template text too, so a
// special-token string inside a message is encoded as that token, as transformers does.

import { type ChatMessage, type ChatTemplate, commonPrefix } from './chat-template.js';

/** What these functions need of a tokenizer: encode with special-token strings as their ids, adding none. */
export interface ChatTokenizer {
  encode(text: string, opts: { allowSpecial: boolean }): number[];
}

export interface EncodedConversation {
  ids: number[];
  /** (T) 1 on the tokens of the assistant turns (content and end-of-turn), 0 elsewhere. */
  assistantMask: Uint8Array;
}

/** Character span [start, end) of each assistant turn in the rendered conversation. */
export interface ConversationSpans {
  text: string;
  /** One per assistant message, in order; `message` is its index in the messages. */
  spans: { message: number; start: number; end: number }[];
}

const encodeText = (tok: ChatTokenizer, text: string) => tok.encode(text, { allowSpecial: true });

/** The rendering of messages[0..k) with the generation cue, or "" for none (some templates fail on []). */
function renderBefore(template: ChatTemplate, messages: readonly ChatMessage[], k: number, cue: boolean): string {
  if (k === 0) {
    try {
      return template.render([], { addGenerationPrompt: cue });
    } catch {
      return '';
    }
  }
  return template.render(messages.slice(0, k), { addGenerationPrompt: cue });
}

/** Where message k (an assistant message) starts in the full rendering `text`. */
function turnStart(template: ChatTemplate, messages: readonly ChatMessage[], k: number, text: string): number {
  const before = renderBefore(template, messages, k, false);
  if (!text.startsWith(before)) {
    const at = commonPrefix(before, text).length;
    throw new Error(
      `${template.source}: the chat template renders messages 0–${k - 1} differently when more messages follow ` +
        `(they part at character ${at}: ${JSON.stringify(before.slice(at, at + 40))} alone, ` +
        `${JSON.stringify(text.slice(at, at + 40))} in the whole conversation), so the assistant turns cannot be ` +
        `located in it. Give a template that renders each turn the same way whatever follows (--chat-template)`,
    );
  }
  // NOTE: the common prefix, not P itself: a cue that the full rendering does not repeat (DeepSeek-R1's
  // "<think>\n") then belongs to the answer, as in TRL.
  return Math.max(before.length, commonPrefix(renderBefore(template, messages, k, true), text).length);
}

/** Where the assistant turn that starts at `start` ends: just after its first end-of-turn string. */
function turnEnd(template: ChatTemplate, text: string, content: string, start: number, bound: number): number {
  // Search after the content, so an end-of-turn string quoted inside the message is not taken for its end.
  const body = content.trim();
  const at = body ? text.indexOf(body, start) : -1;
  const from = at >= 0 && at + body.length <= bound ? at + body.length : start;
  let end = -1;
  for (const s of template.endOfTurn) {
    const i = text.indexOf(s, from);
    if (i >= 0 && i + s.length <= bound && (end < 0 || i + s.length < end)) end = i + s.length;
  }
  if (end >= 0) return end;
  if (at >= 0 && from <= bound) return from; // a template that writes nothing after an answer
  throw new Error(
    `${template.source}: cannot find where an assistant turn ends: no end-of-turn string ` +
      `(${template.endOfTurn.map((s) => JSON.stringify(s)).join(', ') || 'none known'}) follows its content`,
  );
}

/** The full rendering and the character span of every assistant turn in it. */
export function conversationSpans(template: ChatTemplate, messages: readonly ChatMessage[]): ConversationSpans {
  const text = template.render(messages);
  const turns = messages.flatMap((m, k) => (m.role === 'assistant' ? [k] : []));
  const starts = turns.map((k) => turnStart(template, messages, k, text));
  const spans = turns.map((k, j) => {
    const bound = j + 1 < turns.length ? starts[j + 1] : text.length;
    return { message: k, start: starts[j], end: turnEnd(template, text, messages[k].content, starts[j], bound) };
  });
  return { text, spans };
}

/**
 * Tokens of `ids` (the encoding of `text`) that lie before character `at`: the longest run the encoding of
 * text[0, at) shares with ids. `straddle` counts the token that crosses `at`, if one does.
 */
function tokensBefore(tok: ChatTokenizer, text: string, ids: readonly number[], at: number, straddle: boolean) {
  if (at >= text.length) return ids.length;
  const head = encodeText(tok, text.slice(0, at));
  let n = 0;
  while (n < head.length && n < ids.length && head[n] === ids[n]) n++;
  return n === head.length || !straddle ? n : Math.min(ids.length, n + 1);
}

/**
 * A conversation as token ids with its assistant mask (TRL's assistant_only_loss): 1 on the tokens of each
 * assistant turn's content and of its end-of-turn string; a token that crosses a turn's boundary counts as
 * the turn's. With `trainFrom`, only the assistant messages from that index on are marked (a prompt's
 * own assistant turns are context). Throws when the template cannot be split into turns (see the top of
 * this file).
 */
export function encodeConversation(
  tok: ChatTokenizer,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  opts: { trainFrom?: number } = {},
): EncodedConversation {
  const { text, spans } = conversationSpans(template, messages);
  const ids = encodeText(tok, text);
  const assistantMask = new Uint8Array(ids.length);
  for (const s of spans) {
    if (s.message < (opts.trainFrom ?? 0)) continue;
    const a = tokensBefore(tok, text, ids, s.start, false);
    const b = tokensBefore(tok, text, ids, s.end, true);
    assistantMask.fill(1, a, Math.max(a, b));
  }
  return { ids, assistantMask };
}

/** A prompt's ids for generation: the messages rendered with the generation cue. */
export function encodePromptMessages(
  tok: ChatTokenizer,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
): number[] {
  return encodeText(tok, template.render(messages, { addGenerationPrompt: true }));
}

/**
 * A prompt and its answer (DPO, reward models), split where the answer starts, as TRL splits them: prompt =
 * everything before the first answer message's turn; completion = from there to the end of the last
 * assistant turn's end-of-turn string. Text the template writes after that (Qwen's "\n", the cue that a
 * Llama 3 base template always appends) is dropped, so a completion ends as a sampled one does.
 */
export function encodeChatCompletion(
  tok: ChatTokenizer,
  template: ChatTemplate,
  prompt: readonly ChatMessage[],
  completion: readonly ChatMessage[],
): { prompt: number[]; completion: number[] } {
  if (completion[0]?.role !== 'assistant')
    throw new Error(
      `encodeChatCompletion: the completion must start with an assistant message, got ` +
        `${completion[0] ? `a ${completion[0].role} message` : 'none'}`,
    );
  const messages = [...prompt, ...completion];
  const { text, spans } = conversationSpans(template, messages);
  const start = turnStart(template, messages, prompt.length, text);
  const end = spans[spans.length - 1].end;
  return encodeSplit(tok, text.slice(0, end), start);
}

/**
 * Rendered text as ids split at character `at`: prompt = the tokens wholly before it, completion = the rest
 * (a token that straddles `at` counts as the completion's).
 */
export function encodeSplit(tok: ChatTokenizer, text: string, at: number): { prompt: number[]; completion: number[] } {
  const ids = encodeText(tok, text);
  const cut = tokensBefore(tok, text, ids, at, false);
  return { prompt: ids.slice(0, cut), completion: ids.slice(cut) };
}
