// A model's chat template: the Jinja program in its tokenizer_config.json ("chat_template") that turns a
// list of messages into the exact text the model was tuned on, rendered with @huggingface/jinja (the
// subset of Jinja that Hugging Face chat templates use). What ends an assistant turn (endOfTurn) is found
// by rendering a probe conversation, not from a table of known models.

import { Template } from '@huggingface/jinja';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface RenderOptions {
  /** Append the cue that starts the assistant's answer ("<|im_start|>assistant\n"), as for generation. */
  addGenerationPrompt?: boolean;
  /** Tool (function) schemas, for templates that describe them. */
  tools?: unknown[];
}

export interface ChatTemplateOptions {
  /** Where the template came from (a file path), named in every error. */
  source: string;
  bosToken?: string | null;
  eosToken?: string | null;
  /**
   * The tokenizer's special-token strings: endOfTurn is the first of them the template writes after an
   * assistant message. Without them, the first "<…>" marker there is taken.
   */
  specialTokens?: readonly string[];
}

const RAISE = 'rlhf_raise_exception';

const PLAIN_CHAT_TEMPLATE =
  "{% for m in messages %}{% if m.role == 'assistant' %}{{ '\n\nAssistant: ' + m.content + eos_token }}" +
  "{% elif m.role == 'user' %}{{ '\n\nHuman: ' + m.content }}{% elif m.role == 'system' %}" +
  "{{ '\n\nSystem: ' + m.content }}{% else %}{{ '\n\nTool: ' + m.content }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '\n\nAssistant:' }}{% endif %}";

/** A template's own refusal (its raise_exception call), told apart from a bug in the template. */
class TemplateRefusal extends Error {}

// Probe contents: plain words no template changes (trim, strip) and no conversation contains.
const PROBE_USER = 'ProbeUserTurnQ7';
const PROBE_ASSISTANT = 'ProbeAssistantTurnA7';
const PROBE_NEXT = 'ProbeNextUserTurnZ7';

export class ChatTemplate {
  readonly source: string;
  readonly bosToken: string;
  readonly eosToken: string;
  /**
   * The strings that end an assistant turn: what the template writes right after an assistant message's
   * content (e.g. "<|eot_id|>", "<|im_end|>", "</s>"), then the EOS token. Generation stops at any of them,
   * and an assistant turn's loss covers its content up to and including the first of them.
   */
  readonly endOfTurn: readonly string[];
  readonly specialTokens: readonly string[];
  private readonly program: Template;

  constructor(
    readonly text: string,
    opts: ChatTemplateOptions,
  ) {
    this.source = opts.source;
    this.bosToken = opts.bosToken ?? '';
    this.eosToken = opts.eosToken ?? '';
    this.specialTokens = opts.specialTokens ?? [];
    if (typeof text !== 'string' || text.trim() === '')
      throw new Error(`${opts.source}: the chat template is empty; give the Jinja text of "chat_template"`);
    try {
      // NOTE: @huggingface/jinja declares its own raise_exception and a render cannot redeclare it, so the
      // template's calls are renamed to ours, which tells a template's refusal apart from a failure.
      this.program = new Template(text.replace(/\braise_exception\b/g, RAISE));
    } catch (e) {
      throw new Error(
        `${opts.source}: the chat template is not valid Jinja (${(e as Error).message}); check "chat_template" ` +
          `(it must be the Jinja text that transformers' apply_chat_template renders)`,
      );
    }
    this.endOfTurn = this.findEndOfTurn(this.specialTokens);
  }

  /**
   * The template of a parsed tokenizer_config.json, or null when it has none. "chat_template" may be a string
   * or a list of {name, template}, of which "default" is used (transformers' choice without tools).
   * bos_token and eos_token may be strings or {"content": …} objects (older configs).
   */
  static fromTokenizerConfig(cfg: Record<string, unknown>, source: string): ChatTemplate | null {
    const raw = cfg.chat_template;
    if (raw === undefined || raw === null) return null;
    let text: string;
    if (typeof raw === 'string') text = raw;
    else if (Array.isArray(raw)) {
      const names = raw.map((t, i) => {
        if (typeof t?.name !== 'string' || typeof t?.template !== 'string')
          throw new Error(
            `${source}: chat_template[${i}] must be {"name": string, "template": string}, got ${JSON.stringify(t)}`,
          );
        return t.name as string;
      });
      const chosen = raw.find((t) => t.name === 'default');
      if (!chosen)
        throw new Error(
          `${source}: chat_template is a list of named templates (${names.join(', ')}) without "default"; ` +
            `add one named "default", or give the template to use with --chat-template`,
        );
      text = chosen.template;
    } else
      throw new Error(`${source}: chat_template must be a string or a list of {"name", "template"}, got ${typeof raw}`);
    return new ChatTemplate(text, { source, ...configTokens(cfg, source) });
  }

  /**
   * The plain layout for a tokenizer without a chat template: the "\n\nHuman: …\n\nAssistant: …" text that
   * conversational comparisons are read as (src/data/formats/chat.ts), each answer ended by EOS.
   */
  static plain(eosToken: string): ChatTemplate {
    return new ChatTemplate(PLAIN_CHAT_TEMPLATE, {
      source: 'the plain Human/Assistant layout (the tokenizer has no chat_template)',
      eosToken,
      specialTokens: [eosToken],
    });
  }

  /**
   * The special-token strings the template writes: its "<|…|>" literals, BOS, EOS and end-of-turn strings. A
   * tokenizer trained for it gives each one id.
   */
  markers(): string[] {
    const literals = this.text.match(/<\|[^|<>\s]+\|>/g) ?? [];
    return [...new Set([this.bosToken, this.eosToken, ...this.endOfTurn, ...literals].filter((s) => s))];
  }

  /** The conversation as the model sees it. Errors name the template's source. */
  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    try {
      return this.program.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        ...(opts.tools?.length ? { tools: opts.tools } : {}),
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        [RAISE]: (msg: unknown) => {
          throw new TemplateRefusal(String(msg));
        },
      });
    } catch (e) {
      if (e instanceof TemplateRefusal)
        throw new Error(`${this.source}: the chat template refuses this conversation: ${e.message}`);
      throw new Error(
        `${this.source}: rendering the chat template failed (${(e as Error).message}) for messages with roles ` +
          `${messages.map((m) => m.role).join(', ') || '(none)'}`,
      );
    }
  }

  /**
   * What the template writes after an assistant message and before whatever follows it: rendered once as the
   * last message and once followed by a user message, the shared start of both tails is the end-of-turn text
   * (the first is "<|eot_id|><|start_header_id|>" for a template that always appends the generation cue).
   */
  private findEndOfTurn(specials: readonly string[]): string[] {
    const out = new Set<string>();
    try {
      const user: ChatMessage = { role: 'user', content: PROBE_USER };
      const answer: ChatMessage = { role: 'assistant', content: PROBE_ASSISTANT };
      const last = this.render([user, answer]);
      const more = this.render([user, answer, { role: 'user', content: PROBE_NEXT }]);
      const a = last.indexOf(PROBE_ASSISTANT),
        b = more.indexOf(PROBE_ASSISTANT);
      if (a >= 0 && b >= 0) {
        const tail = commonPrefix(
          last.slice(a + PROBE_ASSISTANT.length),
          more.slice(b + PROBE_ASSISTANT.length),
        ).trimStart();
        const marker = firstMarker(tail, specials);
        if (marker) out.add(marker);
      }
    } catch {
      // A template that refuses the probe (one that needs a system message, say) still ends turns with EOS.
    }
    if (this.eosToken) out.add(this.eosToken);
    return [...out];
  }
}

/** The longest common prefix of two strings. */
export function commonPrefix(a: string, b: string): string {
  let i = 0;
  const n = Math.min(a.length, b.length);
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return a.slice(0, i);
}

/**
 * The end-of-turn marker at the start of `tail`: the first special token in it, else a leading "<…>" or
 * "[…]" marker, else the text up to the first white space.
 */
function firstMarker(tail: string, specials: readonly string[]): string | null {
  if (!tail) return null;
  let best: { at: number; s: string } | null = null;
  for (const s of specials) {
    const at = s ? tail.indexOf(s) : -1;
    if (at >= 0 && (!best || at < best.at || (at === best.at && s.length > best.s.length))) best = { at, s };
  }
  if (best) return best.s;
  const m = /^(?:<[^<>\s]+>|\[[^[\]\s]+\])/.exec(tail);
  if (m) return m[0];
  return tail.split(/\s/)[0] || null;
}

/** A token given as a string or as an AddedToken object {"content": …}; null or absent is none. */
function tokenString(v: unknown, field: string, source: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  throw new Error(`${source}: ${field} must be a string or {"content": string}, got ${JSON.stringify(v)}`);
}

/** The tokens a tokenizer_config.json names: bos_token, eos_token, and every special token it lists. */
export function configTokens(
  cfg: Record<string, unknown>,
  source: string,
): { bosToken: string | null; eosToken: string | null; specialTokens: string[] } {
  return {
    bosToken: tokenString(cfg.bos_token, 'bos_token', source),
    eosToken: tokenString(cfg.eos_token, 'eos_token', source),
    specialTokens: configSpecialTokens(cfg),
  };
}

/** Special-token strings a tokenizer_config.json names: added_tokens_decoder's specials and the named ones. */
function configSpecialTokens(cfg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const decoder = cfg.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const t of Object.values(decoder as Record<string, { content?: unknown; special?: unknown }>))
      if (typeof t?.content === 'string' && t.special !== false) out.push(t.content);
  }
  if (Array.isArray(cfg.additional_special_tokens))
    for (const t of cfg.additional_special_tokens) {
      const s = typeof t === 'string' ? t : (t as { content?: unknown })?.content;
      if (typeof s === 'string') out.push(s);
    }
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const v = cfg[k];
    const s = typeof v === 'string' ? v : (v as { content?: unknown } | null)?.content;
    if (typeof s === 'string') out.push(s);
  }
  return [...new Set(out)];
}
