// The one way a prompt becomes the token ids a model is conditioned on, in training, sampling,
// scoring and evaluation alike.

import type { Tokenizer } from './tokenizer/index.js';

/**
 * A prompt's token ids: an empty prompt is the end-of-text token alone (GPT-2's start for
 * unconditional samples), and a prompt of more than `room` tokens keeps its last `room`, the text
 * nearest the completion. For sampling, room = context − maxNewTokens (see promptRoom).
 */
export function encodePrompt(tok: Tokenizer, prompt: string, room = Infinity): number[] {
  if (!(room >= 1)) throw new Error(`encodePrompt: room for the prompt must be at least 1 token, got ${room}`);
  const ids = prompt.length ? tok.encode(prompt) : [tok.eosId];
  return ids.length > room ? ids.slice(ids.length - room) : ids;
}

/** Tokens left for the prompt when maxNewTokens are sampled in a context of nPositions. */
export function promptRoom(nPositions: number, maxNewTokens: number): number {
  const room = nPositions - maxNewTokens;
  if (room < 1)
    throw new Error(
      `maxNewTokens (${maxNewTokens}) leaves no room for a prompt in the model's context of ${nPositions} tokens; ` +
        `lower it to at most ${nPositions - 1}`,
    );
  return room;
}

/**
 * The prompt's text cut as encodePrompt cuts its tokens, for generators that take text (a server):
 * the prompt itself when it fits, else the decoded last `room` tokens.
 */
export function fitPromptText(tok: Tokenizer, prompt: string, room = Infinity): string {
  if (!(room >= 1)) throw new Error(`fitPromptText: room for the prompt must be at least 1 token, got ${room}`);
  const ids = prompt.length ? tok.encode(prompt) : [];
  return ids.length <= room ? prompt : tok.decode(ids.slice(ids.length - room));
}
