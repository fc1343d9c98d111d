import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeChatCompletion, encodeConversation, encodePromptMessages } from './chat-encode.js';
import { type ChatMessage, ChatTemplate } from './chat-template.js';
import { Tokenizer } from './tokenizer/index.js';
import { CONVERSATION, LLAMA2_CHAT_TEMPLATE, realConfig } from '../test-support/chat-fixtures.js';

// A GPT-2-style byte-level tokenizer with the chat templates' markers added as special tokens.
const SPECIALS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|begin_of_text|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eot_id|>',
  '<s>',
  '</s>',
];
const tok = Tokenizer.train(
  ['Hello there, hi and bye. The user says hello; the assistant answers.', ' Hello'.repeat(50)],
  {
    vocabSize: 300,
    specialTokens: SPECIALS,
  },
);

export const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The masked tokens, decoded run by run. */
function maskedRuns(ids: number[], mask: Uint8Array): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  ids.forEach((id, i) => {
    if (mask[i]) cur.push(id);
    else if (cur.length) {
      runs.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length) runs.push(tok.decode(cur));
  return runs;
}

const TWO_ANSWERS: ChatMessage[] = [...CONVERSATION, { role: 'assistant', content: 'Ciao.' }];
const real = (name: 'llama3' | 'qwen3') => ChatTemplate.fromTokenizerConfig(realConfig(name), name)!;

describe('encodeConversation: the assistant mask', () => {
  it('covers exactly each assistant content and its end-of-turn token (ChatML)', () => {
    const t = new ChatTemplate(CHATML, { source: 'chatml', eosToken: '<|endoftext|>' });
    const { ids, assistantMask } = encodeConversation(tok, t, TWO_ANSWERS);
    assert.equal(tok.decode(ids), t.render(TWO_ANSWERS));
    assert.equal(ids.length, assistantMask.length);
    assert.deepEqual(maskedRuns(ids, assistantMask), ['Hello!<|im_end|>', 'Ciao.<|im_end|>']);
    const imEnd = tok.tokenToId('<|im_end|>')!;
    assert.equal(ids.filter((id) => id === imEnd).length, 5); // specials are single tokens
  });

  it('on Qwen3: past answers lose their <think> block, the last keeps it; the mask follows the full text', () => {
    const msgs: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '<think>\ngreet back\n</think>\n\nHello!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Ciao.' },
    ];
    const { ids, assistantMask } = encodeConversation(tok, real('qwen3'), msgs);
    assert.deepEqual(maskedRuns(ids, assistantMask), ['Hello!<|im_end|>', '<think>\n\n</think>\n\nCiao.<|im_end|>']);
  });

  it('on Llama 3: content + <|eot_id|>, not the cue the template appends at the end; one BOS', () => {
    const { ids, assistantMask } = encodeConversation(tok, real('llama3'), TWO_ANSWERS);
    assert.deepEqual(maskedRuns(ids, assistantMask), ['Hello!<|eot_id|>', 'Ciao.<|eot_id|>']);
    const bos = tok.tokenToId('<|begin_of_text|>')!;
    assert.equal(ids[0], bos);
    assert.equal(ids.filter((id) => id === bos).length, 1);
  });

  it('on Llama 2 chat: " answer </s>"', () => {
    const t = ChatTemplate.fromTokenizerConfig(
      { ...realConfig('llama2'), chat_template: LLAMA2_CHAT_TEMPLATE },
      'llama2',
    )!;
    const msgs = CONVERSATION.slice(0, 3);
    const { ids, assistantMask } = encodeConversation(tok, t, msgs);
    assert.deepEqual(maskedRuns(ids, assistantMask), [' Hello! </s>']);
  });

  it('counts a token that crosses the start of a turn as the turn’s', () => {
    // The cue ends with a space, and " Hello" is one token: it holds the cue's last character.
    const t = new ChatTemplate(
      "{% for m in messages %}{% if m.role == 'user' %}User: {{ m.content }}\n{% else %}Assistant: {{ m.content }}" +
        '{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}',
      { source: 'plain', eosToken: '<|endoftext|>' },
    );
    assert.equal(tok.encode(' Hello').length, 1);
    const { ids, assistantMask } = encodeConversation(tok, t, CONVERSATION.slice(1, 3));
    assert.deepEqual(maskedRuns(ids, assistantMask), [' Hello!<|endoftext|>']);
  });

  it('refuses a template that renders earlier turns differently once more follow, naming it', () => {
    // Mistral-style: the system message goes into the last user message.
    const moving = new ChatTemplate(
      "{% for m in messages %}{% if m.role == 'user' %}[INST] {% if loop.last and messages[0].role == 'system' %}" +
        "{{ messages[0].content }} {% endif %}{{ m.content }} [/INST]{% elif m.role == 'assistant' %}{{ m.content }}" +
        '{{ eos_token }}{% endif %}{% endfor %}',
      { source: 'mistral.json', eosToken: '</s>' },
    );
    assert.throws(
      () => encodeConversation(tok, moving, TWO_ANSWERS),
      /mistral\.json: the chat template renders messages 0–1 differently when more messages follow/,
    );
    // Qwen3 with two answers in a row: the first is rendered with an empty <think> block only when last.
    const twice: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'assistant', content: 'Again.' },
    ];
    assert.throws(() => encodeConversation(tok, real('qwen3'), twice), /qwen3: the chat template renders messages 0–1/);
  });
});

describe('prompts and prompt/completion pairs', () => {
  const t = new ChatTemplate(CHATML, { source: 'chatml', eosToken: '<|endoftext|>' });

  it('encodePromptMessages renders with the generation cue', () => {
    const ids = encodePromptMessages(tok, t, CONVERSATION.slice(0, 2));
    assert.equal(
      tok.decode(ids),
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('encodeChatCompletion splits where the answer starts and ends at its end-of-turn token', () => {
    const prompt = CONVERSATION.slice(0, 2);
    const p = encodeChatCompletion(tok, t, prompt, [{ role: 'assistant', content: 'Hello!' }]);
    assert.deepEqual(p.prompt, encodePromptMessages(tok, t, prompt));
    assert.equal(tok.decode(p.completion), 'Hello!<|im_end|>');
    // several completion messages: up to the last assistant turn's end
    const q = encodeChatCompletion(tok, t, prompt, CONVERSATION.slice(2).concat(TWO_ANSWERS.slice(4)));
    assert.equal(
      tok.decode(q.completion),
      'Hello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nCiao.<|im_end|>',
    );
    assert.throws(() => encodeChatCompletion(tok, t, prompt, [{ role: 'user', content: 'x' }]), /assistant/);
  });
});
