// Our texts as chat messages, for the conversational dataset forms of TRL and OpenRLHF.
//
// Comparisons store text. A conversational record read by data/formats/chat.ts was rendered as
// Anthropic HH text ("\n\nHuman: …\n\nAssistant:" for the prompt, " …" for the answer), so those
// texts are split back into the very messages they came from: toPromptMessages(renderPrompt(m))
// gives m again. Any other prompt becomes one user message, and any other completion one assistant
// message (without its leading space, which the chat template puts back): exact is then false, and
// the caller reports how many records changed form.
//
// The exported tokenizer carries the same layout as its chat template (hf-tokenizer.ts), so a
// trainer that applies the template to these messages sees the texts we trained on.

import { ASSISTANT_MARK, Message, renderCompletion, renderPrompt } from '../data/formats/chat.js';

export type { Message };

const ROLE_OF: Record<string, Message['role']> = { Human: 'user', Assistant: 'assistant', System: 'system' };
const TURN = /\n\n(Human|Assistant|System): /g;

export interface Converted {
  messages: Message[];
  /** True when the messages render back to exactly the original text. */
  exact: boolean;
}

/** Splits "\n\n{Role}: {content}" turns; null when the text does not start with one. */
function splitTurns(text: string): Message[] | null {
  const marks = [...text.matchAll(TURN)];
  if (marks.length === 0 || marks[0].index !== 0) return null;
  return marks.map((m, i) => ({
    role: ROLE_OF[m[1]],
    content: text.slice(m.index + m[0].length, i + 1 < marks.length ? marks[i + 1].index : text.length),
  }));
}

/** A prompt as the messages before the assistant's turn. */
export function toPromptMessages(prompt: string): Converted {
  if (prompt.endsWith(ASSISTANT_MARK)) {
    const turns = splitTurns(prompt.slice(0, prompt.length - ASSISTANT_MARK.length));
    // NOTE: a turn's content may itself contain "\n\nHuman: "; the render check catches any split
    // that would not give the same text back.
    if (turns && turns.length > 0 && renderPrompt(turns) === prompt) return { messages: turns, exact: true };
  }
  return { messages: [{ role: 'user', content: prompt }], exact: false };
}

/** A completion as the assistant's answer (and any turns that follow it in the same text). */
export function toCompletionMessages(completion: string): Converted {
  if (completion.startsWith(' ')) {
    const first = completion.slice(1);
    const at = first.search(/\n\n(Human|Assistant|System): /);
    const head: Message = { role: 'assistant', content: at < 0 ? first : first.slice(0, at) };
    const rest = at < 0 ? [] : splitTurns(first.slice(at));
    if (rest && head.content.length > 0) {
      const messages = [head, ...rest];
      if (renderCompletion(messages, 'completion') === completion) return { messages, exact: true };
    }
  }
  return {
    messages: [{ role: 'assistant', content: completion.startsWith(' ') ? completion.slice(1) : completion }],
    exact: false,
  };
}
