// Training text for language modeling: plain documents, prompt/completion pairs, and conversations
// (TRL's conversational language-modeling and prompt-completion formats).

import { type Message, parseMessages, renderTurns } from './formats/chat.js';
import { describe } from './formats/fields.js';
import { FieldError, ReadResult, readJsonl, readTextFile, stringField } from './jsonl.js';

/** A supervised example: the loss is taken on the completion only. */
export interface PromptCompletion {
  prompt: string;
  completion: string;
}

/**
 * A conversation to fine-tune on, with the loss on its assistant turns from message `trainFrom` on: 0 for
 * {"messages"}, the prompt's length for a conversational {"prompt", "completion"} (loss on the completion).
 */
export interface Conversation {
  messages: Message[];
  trainFrom: number;
  /** The record's line, for errors found when it is tokenized (e.g. a template that refuses it). */
  line: number;
}

type Issues = ReadResult<unknown>['issues'];

export type SFTData =
  | { kind: 'text'; documents: string[]; issues: Issues; lines: number }
  | { kind: 'prompt-completion'; examples: PromptCompletion[]; issues: Issues; lines: number }
  | { kind: 'conversation'; conversations: Conversation[]; issues: Issues; lines: number };

type Kind = SFTData['kind'];

const KIND_SHAPE: Record<Kind, string> = {
  text: '{"text"}',
  'prompt-completion': '{"prompt","completion"}',
  conversation: '{"messages": [...]} (or "prompt" and "completion" as message lists)',
};

function kindOf(obj: Record<string, unknown>): Kind | null {
  if ('messages' in obj) return 'conversation';
  if (Array.isArray(obj.prompt) || Array.isArray(obj.completion)) return 'conversation';
  if ('prompt' in obj || 'completion' in obj) return 'prompt-completion';
  return 'text' in obj ? 'text' : null;
}

/** A conversational record: {"messages"}, or {"prompt", "completion"} as message lists. */
function parseConversation(obj: Record<string, unknown>): Omit<Conversation, 'line'> {
  let messages: Message[], trainFrom: number;
  if ('messages' in obj) {
    messages = parseMessages(obj.messages, 'messages');
    trainFrom = 0;
  } else {
    for (const f of ['prompt', 'completion'])
      if (!Array.isArray(obj[f]))
        throw new FieldError(f, `must be a list of messages like the other field, got ${describe(obj[f])}`);
    const prompt = parseMessages(obj.prompt, 'prompt');
    messages = [...prompt, ...parseMessages(obj.completion, 'completion')];
    trainFrom = prompt.length;
  }
  if (!messages.slice(trainFrom).some((m) => m.role === 'assistant'))
    throw new FieldError(
      trainFrom ? 'completion' : 'messages',
      'has no assistant message: the loss is on assistant turns only, so the record teaches nothing',
    );
  return { messages, trainFrom };
}

/** The plain texts of any SFT data: what a tokenizer is trained on. Conversations in the plain layout. */
export function sftTexts(data: SFTData): string[] {
  if (data.kind === 'text') return data.documents;
  if (data.kind === 'prompt-completion') return data.examples.map((e) => e.prompt + e.completion);
  return data.conversations.map((c) => renderTurns(c.messages));
}

/**
 * Reads SFT/pretraining data: a .txt file (one document), or JSONL whose records are all {"text"}
 * (pretraining), all {"prompt", "completion"} (fine-tuning) or all conversations ({"messages"}, or
 * {"prompt", "completion"} as message lists). The kind is detected from the first readable record; a
 * record of another kind is an error with its line.
 */
export function readSFTData(path: string): SFTData {
  if (/\.txt(\.gz)?$/.test(path)) {
    const text = readTextFile(path);
    if (!text.trim()) throw new Error(`${path}: the file is empty`);
    return { kind: 'text', documents: [text], issues: [], lines: 1 };
  }
  if (!/\.jsonl(\.gz)?$/.test(path)) {
    throw new Error(
      `${path}: unknown file type; give a .txt file (plain text) or a .jsonl file with {"text"}, ` +
        `{"prompt","completion"} or {"messages"} records`,
    );
  }
  let kind: Kind | null = null;
  const res = readJsonl(path, (obj, line) => {
    const k = kindOf(obj);
    if (!kind) {
      if (!k)
        throw new FieldError(
          'text',
          `missing; each record needs "text" (pretraining), "prompt" and "completion" (fine-tuning) or ` +
            `"messages" (a conversation)`,
        );
      kind = k;
    }
    if (k !== kind)
      throw new FieldError(
        k === 'text' || !k ? 'text' : k === 'conversation' ? 'messages' : 'prompt',
        `this file started with ${KIND_SHAPE[kind]} records; do not mix them with ${k ? KIND_SHAPE[k] : 'others'}`,
      );
    if (kind === 'text') return stringField(obj, 'text');
    if (kind === 'conversation') return { ...parseConversation(obj), line };
    return { prompt: stringField(obj, 'prompt'), completion: stringField(obj, 'completion') };
  });
  if (res.records.length === 0) {
    const first = res.issues[0];
    throw new Error(
      `${path}: no usable ` +
        `records` +
        `${
          first
            ? ` (line ${first.line}: ${first.field ? `"${first.field}" ` : ''}${first.message})`
            : ' (the file is empty)'
        }`,
    );
  }
  if (kind === 'text') return { kind, documents: res.records as string[], issues: res.issues, lines: res.lines };
  if (kind === 'conversation')
    return { kind, conversations: res.records as Conversation[], issues: res.issues, lines: res.lines };
  return {
    kind: 'prompt-completion',
    examples: res.records as PromptCompletion[],
    issues: res.issues,
    lines: res.lines,
  };
}

/** A prompt to sample from: text, or the messages of a conversational prompt-only record. */
export type PromptInput = string | Message[];

/** A prompt record: {"prompt": "text"}, or {"prompt": [messages]} (TRL's conversational prompt-only form). */
export function parsePromptRecord(obj: Record<string, unknown>): PromptInput {
  if (!Array.isArray(obj.prompt)) return stringField(obj, 'prompt');
  const msgs = parseMessages(obj.prompt, 'prompt');
  if (msgs.length === 0) throw new FieldError('prompt', 'is an empty list; give the messages to answer');
  if (msgs[msgs.length - 1].role === 'assistant')
    throw new FieldError(
      `prompt[${msgs.length - 1}].role`,
      'is "assistant": a prompt ends where the answer is due, with a user (or tool) message',
    );
  return msgs;
}
