import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONVERSATION, LLAMA2_CHAT_TEMPLATE, realConfig } from '../test-support/chat-fixtures.js';
import { type ChatMessage, ChatTemplate } from './chat-template.js';

const template = (name: 'llama3' | 'qwen3') => ChatTemplate.fromTokenizerConfig(realConfig(name), `${name}.json`)!;
const llama2 = () =>
  ChatTemplate.fromTokenizerConfig({ ...realConfig('llama2'), chat_template: LLAMA2_CHAT_TEMPLATE }, 'llama2.json')!;

describe('ChatTemplate on the real templates', () => {
  it('renders Llama 3: header, blank line, content, <|eot_id|>; this template always appends the cue', () => {
    const t = template('llama3');
    const want =
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n';
    assert.equal(t.render(CONVERSATION, { addGenerationPrompt: true }), want);
    assert.equal(t.render(CONVERSATION), want);
    assert.deepEqual(t.endOfTurn, ['<|eot_id|>', '<|end_of_text|>']);
  });

  it('renders Qwen3 in ChatML: <|im_start|>role\\n…<|im_end|>\\n, the cue only when asked', () => {
    const t = template('qwen3');
    const turns =
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
      '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n';
    assert.equal(t.render(CONVERSATION), turns);
    assert.equal(t.render(CONVERSATION, { addGenerationPrompt: true }), `${turns}<|im_start|>assistant\n`);
    assert.deepEqual(t.endOfTurn, ['<|im_end|>']);
    assert.equal(t.bosToken, ''); // bos_token is null in Qwen's config
    // tools reach the template
    const withTools = t.render(CONVERSATION.slice(1, 2), { tools: [{ type: 'function', function: { name: 'f' } }] });
    assert.match(withTools, /^<\|im_start\|>system\n# Tools\n/);
    assert.match(withTools, /"name": ?"f"/);
  });

  it('renders Llama 2 chat: [INST] … [/INST] answer </s>, the system message inside the first turn', () => {
    const t = llama2();
    assert.equal(
      t.render(CONVERSATION),
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]',
    );
    assert.deepEqual(t.endOfTurn, ['</s>']);
  });

  it('reads no template from a config without one (the Llama 2 package)', () => {
    assert.equal(ChatTemplate.fromTokenizerConfig(realConfig('llama2'), 'llama2.json'), null);
  });
});

describe('ChatTemplate errors and variants', () => {
  it("turns the template's raise_exception into an error naming the source", () => {
    const bad: ChatMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ];
    assert.throws(() => llama2().render(bad), /^Error: llama2\.json: the chat template refuses .*must alternate/);
  });

  it('names the source of a template that does not parse or is not a template', () => {
    assert.throws(
      () => ChatTemplate.fromTokenizerConfig({ chat_template: '{% if x %}never closed' }, 'cfg/x.json'),
      /cfg\/x\.json: the chat template is not valid Jinja/,
    );
    assert.throws(
      () => ChatTemplate.fromTokenizerConfig({ chat_template: 7 }, 'y.json'),
      /y\.json: chat_template must/,
    );
    assert.throws(() => new ChatTemplate('  ', { source: 'z.jinja' }), /z\.jinja: the chat template is empty/);
  });

  it('picks "default" from a list of named templates, and refuses a list without one', () => {
    const cfg = {
      eos_token: { content: '<|e|>', special: true }, // an AddedToken object, as older configs write
      chat_template: [
        { name: 'tool_use', template: 'TOOLS' },
        { name: 'default', template: '{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}' },
      ],
    };
    const t = ChatTemplate.fromTokenizerConfig(cfg, 'list.json')!;
    assert.equal(t.render([{ role: 'assistant', content: 'x' }]), 'x<|e|>');
    assert.deepEqual(t.endOfTurn, ['<|e|>']);
    assert.throws(
      () => ChatTemplate.fromTokenizerConfig({ chat_template: [{ name: 'rag', template: 'x' }] }, 'l.json'),
      /l\.json: chat_template is a list of named templates \(rag\) without "default"/,
    );
  });

  it('finds the end of a turn without a special-token list, and falls back to EOS alone', () => {
    const chatml =
      "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}";
    assert.deepEqual(new ChatTemplate(chatml, { source: 's', eosToken: '<|endoftext|>' }).endOfTurn, [
      '<|im_end|>',
      '<|endoftext|>',
    ]);
    const bare = '{% for m in messages %}{{ m.content }}{% endfor %}';
    assert.deepEqual(new ChatTemplate(bare, { source: 's', eosToken: '</s>' }).endOfTurn, ['</s>']);
  });
});
