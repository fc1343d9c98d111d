// Conversational data through the model's chat template, for the trainers: SFT's conversations with the
// loss on assistant turns, and the prompt/answer ids of conversational comparisons for DPO (a reward model
// encodes its own: RewardModel.encode, src/model/chat-reward.ts).
// Text data never comes here; conversational comparisons without a template stay in their plain text
// layout (src/data/formats/chat.ts), and SFT conversations without one use the same layout as a template
// (ChatTemplate.plain).

import type { Message } from '../data/formats/chat.js';
import type { MaskedExample } from '../data/lm-batches.js';
import type { Conversation } from '../data/text.js';
import { encodeChatCompletion, encodeConversation } from '../model/chat-encode.js';
import { ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
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
