// Conversational data through the model's chat template, for the trainers: SFT's conversations with the
// loss on assistant turns, and the prompt/answer ids of conversational comparisons for DPO and reward models.
// Text data never comes here; conversational comparisons without a template stay in their plain text
// layout (src/data/formats/chat.ts), and SFT conversations without one use the same layout as a template
// (ChatTemplate.plain).

import type { Message } from '../data/formats/chat.js';
import type { EncodeScored } from '../data/encoded-comparisons.js';
import type { MaskedExample } from '../data/lm-batches.js';
import type { Conversation } from '../data/text.js';
import { encodeChatCompletion, encodeConversation } from '../model/chat-encode.js';
import { ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import { encodeForReward } from '../model/reward-model.js';
import type { Tokenizer } from '../model/tokenizer/index.js';

/** The model's template, else the plain Human/Assistant layout ended by the tokenizer's EOS. */
export function templateOrPlain(template: ChatTemplate | null | undefined, tok: Tokenizer): ChatTemplate {
  return template ?? ChatTemplate.plain(tok.idToToken(tok.eosId) ?? '');
}

/**
 * SFT examples of conversations: the ids with the loss on the assistant turns (from each record's
 * trainFrom), and the key that splits train from eval (the messages before the first trained answer).
 * An error names the file and line of the record.
 */
export function conversationExamples(
  convs: readonly Conversation[],
  tok: Tokenizer,
  template: ChatTemplate,
  file: string,
): { key: string; ex: MaskedExample }[] {
  return convs.map((c) => {
    let enc: ReturnType<typeof encodeConversation>;
    try {
      enc = encodeConversation(tok, template, c.messages, { trainFrom: c.trainFrom });
    } catch (e) {
      throw new Error(`${file}:${c.line}: ${(e as Error).message}`);
    }
    const firstTrained = c.messages.findIndex((m, k) => k >= c.trainFrom && m.role === 'assistant');
    return {
      key: JSON.stringify(c.messages.slice(0, firstTrained)),
      ex: { ids: enc.ids, mask: enc.assistantMask },
    };
  });
}

/**
 * A conversational prompt and answer as DPO scores them: the answer's turn through its end-of-turn token
 * (cut to ctx tokens), after the prompt rendered up to the assistant's cue (keeping its last tokens, ≥ 1).
 */
export function encodeChatPair(
  tok: Tokenizer,
  template: ChatTemplate,
  prompt: readonly Message[],
  completion: readonly Message[],
  ctx: number,
): TokenPair {
  const p = encodeChatCompletion(tok, template, prompt, completion);
  const c = p.completion.length > ctx ? p.completion.slice(0, ctx) : p.completion;
  const room = ctx + 1 - c.length;
  return { prompt: p.prompt.length > room ? p.prompt.slice(p.prompt.length - room) : p.prompt, completion: c };
}

/**
 * Ids of a comparison's completion as a reward model scores it (read at the last token): with the template,
 * the rendered prompt and answer ending with its end-of-turn token, the prompt cut from its start to fit T;
 * without one, or for a text comparison, encodeForReward's text layout.
 */
export function scoredEncoder(tok: Tokenizer, T: number, template: ChatTemplate | null | undefined): EncodeScored {
  return (prompt, completion, chat) => {
    if (!template || !chat) return encodeForReward(tok, prompt, completion, T);
    const p = encodeChatCompletion(tok, template, chat.prompt, chat.completion);
    // The end-of-turn token carries the judgement: a long answer loses its middle's end, not its last token.
    const c = p.completion.length > T - 1 ? [...p.completion.slice(0, T - 2), p.completion.at(-1)!] : p.completion;
    const room = T - c.length;
    return [...(p.prompt.length > room ? p.prompt.slice(p.prompt.length - room) : p.prompt), ...c];
  };
}
