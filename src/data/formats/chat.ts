// Conversations as text, and finding the prompt that two texts share.
//
// Template (Anthropic HH's own text layout, so a conversational record and its HH text version
// give the same Comparison):
//   prompt     = for each prompt message "\n\n{Role}: {content}", then "\n\nAssistant:"
//   completion = " " + the first (assistant) message's content, then any further messages
//                rendered as "\n\n{Role}: {content}"
//   Role: user → Human, assistant → Assistant, system → System, tool → Tool.
// This is the plain fallback for a tokenizer without a chat template; with one, the messages themselves
// are kept (Comparison.chat) and rendered by the model's template (src/model/chat-encode.ts).

import { FieldError } from '../field-error.js';
import { describe, isObject, requireString } from './fields.js';

export const ASSISTANT_MARK = '\n\nAssistant:';

export interface Message {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
}

const ROLE_LABEL: Record<Message['role'], string> = {
  user: 'Human',
  assistant: 'Assistant',
  system: 'System',
  tool: 'Tool',
};

/** Validates a list of {"role", "content"} messages. */
export function parseMessages(v: unknown, field: string): Message[] {
  if (!Array.isArray(v))
    throw new FieldError(field, `must be a list of {"role", "content"} messages, got ${describe(v)}`);
  return v.map((m, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(m)) throw new FieldError(f, `must be a {"role", "content"} message, got ${describe(m)}`);
    const role = requireString(m.role, `${f}.role`);
    if (!(role in ROLE_LABEL))
      throw new FieldError(
        `${f}.role`,
        `must be one of ${Object.keys(ROLE_LABEL).join(', ')}, got ${JSON.stringify(role)}`,
      );
    if (typeof m.content !== 'string') {
      throw new FieldError(
        `${f}.content`,
        `must be a string, got ${describe(m.content)} (lists of content parts are not supported)`,
      );
    }
    return { role: role as Message['role'], content: m.content };
  });
}

/** Messages in the plain layout, each "\n\n{Role}: {content}". */
export function renderTurns(msgs: Message[]): string {
  return msgs.map((m) => `\n\n${ROLE_LABEL[m.role]}: ${m.content}`).join('');
}

/** The prompt text of a conversation: its turns, then the assistant's cue. */
export function renderPrompt(msgs: Message[]): string {
  return renderTurns(msgs) + ASSISTANT_MARK;
}

/** The completion text of the messages that answer a prompt; the first must be the assistant's. */
export function renderCompletion(msgs: Message[], field: string): string {
  if (msgs.length === 0)
    throw new FieldError(field, 'is an empty list; it needs the assistant message that answers the prompt');
  if (msgs[0].role !== 'assistant')
    throw new FieldError(`${field}[0].role`, `must be "assistant" (the answer to the prompt), got "${msgs[0].role}"`);
  if (msgs[0].content.length === 0)
    throw new FieldError(`${field}[0].content`, 'is empty; a completion must have text to be compared');
  return ' ' + msgs[0].content + renderTurns(msgs.slice(1));
}

function sameMessage(a: Message, b: Message): boolean {
  return a.role === b.role && a.content === b.content;
}

/**
 * Implicit-prompt conversations: the prompt is the longest run of leading messages both share,
 * cut back so that each side continues with an assistant message.
 */
export function splitMessages(
  chosen: Message[],
  rejected: Message[],
): { prompt: Message[]; chosen: Message[]; rejected: Message[] } {
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameMessage(chosen[k], rejected[k])) k++;
  while (k >= 0 && !(chosen[k]?.role === 'assistant' && rejected[k]?.role === 'assistant')) k--;
  if (k < 0) {
    throw new FieldError(
      'rejected',
      'shares no leading messages with "chosen" that are followed by an assistant message on both sides; give ' +
        'an explicit "prompt"',
    );
  }
  return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

/**
 * Implicit-prompt texts: the prompt is the longest common prefix, cut back to a sensible boundary.
 * - HH dialogues: everything up to and including the last "\n\nAssistant:" inside the shared
 *   prefix (the answers may share their first words; those stay in the completions).
 * - Otherwise: the longest common prefix, cut back so no word is split and both completions are
 *   non-empty; the cut is placed before a space, so completions start with " word" (as GPT-2's
 *   tokenizer prefers). With no such boundary, the prompt is empty.
 */
export function splitImplicit(chosen: string, rejected: string): { prompt: string; chosen: string; rejected: string } {
  const n = Math.min(chosen.length, rejected.length);
  let L = 0;
  while (L < n && chosen.charCodeAt(L) === rejected.charCodeAt(L)) L++;
  if (L >= ASSISTANT_MARK.length) {
    const at = chosen.lastIndexOf(ASSISTANT_MARK, L - ASSISTANT_MARK.length);
    if (at >= 0) {
      const k = at + ASSISTANT_MARK.length;
      const out = { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
      for (const side of ['chosen', 'rejected'] as const) {
        if (!out[side])
          throw new FieldError(
            side,
            `ends at the shared prompt's last "\\n\\nAssistant:"; it has no answer to compare`,
          );
      }
      return out;
    }
  }
  let k = Math.min(L, n - 1);
  while (k > 0 && !(isSpace(chosen[k]) || isSpace(rejected[k]))) k--;
  if (k < 0) k = 0;
  return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}
