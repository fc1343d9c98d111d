// The OpenAI chat completions API (POST /v1/chat/completions) as the model server speaks it: the
// request body validated with 400s that name the field (messages[1].role), and the answer's shape.
// The conversation becomes a prompt through the model's chat template, behind ChatFormatter.

import { BadRequest, Fields, SamplingFields, StreamFields, describe } from './completions-api.js';
import type { ChatTokenLogprob } from './logprobs.js';

export interface ChatMessage {
  /** OpenAI's "developer" arrives as "system". */
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What the server needs of a chat template (model/chat-template.ts's ChatTemplate has this shape):
 * the prompt text for a conversation, and the texts that end the assistant's turn.
 */
export interface ChatFormatter {
  render(messages: readonly ChatMessage[], o: { addGenerationPrompt: boolean }): string;
  readonly endOfTurn: readonly string[];
}

export interface ParsedChatRequest extends SamplingFields, StreamFields {
  model?: string;
  messages: ChatMessage[];
  n: number;
  /** max_completion_tokens or max_tokens; undefined: up to the end of the model's context. */
  maxTokens?: number;
  /** null: no log-probabilities; k ≥ 0: each token's and its k most likely alternatives' (top_logprobs). */
  logprobs: number | null;
}

const ROLES = ['system', 'developer', 'user', 'assistant'];

/** Validates a POST /v1/chat/completions body; throws BadRequest naming the field and what is accepted. */
export function parseChatRequest(body: unknown, limits: { maxCompletions: number }): ParsedChatRequest {
  const f = new Fields(body, '{"messages": [{"role": "user", "content": "Hello"}]}');
  const b = f.b;
  const model = f.model();
  const stream = f.stream();
  f.unsupported();
  if (Array.isArray(b.tools) && b.tools.length > 0)
    f.bad('tools', 'tool calls are not supported by this server; leave "tools" out');
  if (!f.absent('tool_choice') && b.tool_choice !== 'none')
    f.bad('tool_choice', 'tool calls are not supported by this server; leave it out or send "none"');
  if (!f.absent('functions')) f.bad('functions', 'function calls are not supported by this server; leave it out');
  const rf = b.response_format as { type?: unknown } | null | undefined;
  if (!f.absent('response_format') && (typeof rf !== 'object' || rf?.type !== 'text'))
    f.bad('response_format', 'only {"type": "text"} is supported');
  if (b.echo === true) f.bad('echo', 'is not supported; leave it out');

  const messages = parseMessages(b.messages);
  const n = f.int('n', 1, 1, limits.maxCompletions);
  let maxTokens: number | undefined;
  // Both are checked; the newer name wins, as in vLLM.
  for (const k of ['max_tokens', 'max_completion_tokens']) if (!f.absent(k)) maxTokens = f.int(k, 0, 0, 1_000_000);
  const sampling = f.sampling();
  if (!f.absent('logprobs') && typeof b.logprobs !== 'boolean') f.bad('logprobs', 'must be true or false');
  const top = f.int('top_logprobs', 0, 0, 20);
  if (!f.absent('top_logprobs') && b.logprobs !== true)
    f.bad('top_logprobs', 'needs "logprobs": true as well; send both');
  return { model, messages, n, maxTokens, ...sampling, ...stream, logprobs: b.logprobs === true ? top : null };
}

function parseMessages(m: unknown): ChatMessage[] {
  if (!Array.isArray(m) || m.length === 0)
    throw new BadRequest(
      400,
      `messages: must be a non-empty array of {"role", "content"} objects, got ${describe(m)}`,
      'messages',
    );
  return m.map((x, i) => {
    const at = `messages[${i}]`;
    const bad = (field: string, msg: string, v: unknown): never => {
      throw new BadRequest(400, `${at}${field}: ${msg}, got ${describe(v)}`, `${at}${field}`);
    };
    if (typeof x !== 'object' || x === null || Array.isArray(x)) bad('', 'must be an object {"role", "content"}', x);
    const msg = x as Record<string, unknown>;
    if (msg.role === 'tool' || msg.role === 'function')
      bad('.role', 'tool and function results are not supported by this server (it has no tool calls)', msg.role);
    if (typeof msg.role !== 'string' || !ROLES.includes(msg.role))
      bad('.role', `must be one of ${ROLES.join(', ')}`, msg.role);
    if (msg.tool_calls !== undefined && msg.tool_calls !== null)
      bad('.tool_calls', 'tool calls are not supported by this server; leave them out', msg.tool_calls);
    // OpenAI's newer name for the system role; chat templates know "system".
    const role = (msg.role === 'developer' ? 'system' : msg.role) as ChatMessage['role'];
    return { role, content: messageContent(msg.content, bad) };
  });
}

/** A message's text: a string, or an array of text parts (joined by newlines, as vLLM joins them). */
function messageContent(c: unknown, bad: (f: string, m: string, v: unknown) => never): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return bad('.content', 'must be a string or an array of {"type": "text", "text"} parts', c);
  return c
    .map((p, j) => {
      const part = p as Record<string, unknown> | null;
      if (typeof part !== 'object' || part === null || part.type !== 'text')
        bad(`.content[${j}].type`, 'only "text" parts are supported (this model reads text only)', part?.type ?? part);
      if (typeof part!.text !== 'string') bad(`.content[${j}].text`, 'must be a string', part!.text);
      return part!.text as string;
    })
    .join('\n');
}

/** The prompt text of a conversation; a template's own error (roles that must alternate…) is a 400. */
export function renderChat(chat: ChatFormatter, messages: readonly ChatMessage[]): string {
  try {
    return chat.render(messages, { addGenerationPrompt: true });
  } catch (e) {
    throw new BadRequest(400, `messages: the model's chat template refused them: ${(e as Error).message}`, 'messages');
  }
}

// ---- the answer ----

export interface ChatChoice {
  index: number;
  message: { role: 'assistant'; content: string; refusal: null };
  logprobs: { content: ChatTokenLogprob[]; refusal: null } | null;
  finish_reason: 'stop' | 'length';
}

export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: ChatChoice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
