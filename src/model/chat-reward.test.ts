import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeChatCompletion } from './chat-encode.js';
import { chatRewardIds, encodeChatForReward, fitScoredIds, isRenderedPrompt } from './chat-reward.js';
import { type ChatMessage, ChatTemplate } from './chat-template.js';
import { TOKENIZER_CONFIG } from './chat-template-file.js';
import { paddedVocabSize, presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { RewardModel, encodeForReward } from './reward-model.js';
import { Tokenizer } from './tokenizer/index.js';
import { CONVERSATION, LLAMA2_CHAT_TEMPLATE, realConfig } from '../test-support/chat-fixtures.js';

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
const tok = Tokenizer.train(['Hello there, hi and bye. What is it? Sure, it is fine.', ' Hello'.repeat(50)], {
  vocabSize: 300,
  specialTokens: SPECIALS,
});
const CHATML = new ChatTemplate(
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  { source: 'chatml.jinja', eosToken: '<|endoftext|>' },
);
const TEMPLATES: [string, ChatTemplate][] = [
  ['ChatML', CHATML],
  ['Llama 3', ChatTemplate.fromTokenizerConfig(realConfig('llama3'), 'llama3')!],
  ['Qwen3', ChatTemplate.fromTokenizerConfig(realConfig('qwen3'), 'qwen3')!],
  [
    'Llama 2 chat',
    ChatTemplate.fromTokenizerConfig({ ...realConfig('llama2'), chat_template: LLAMA2_CHAT_TEMPLATE }, 'l2')!,
  ],
];
const user = (content: string): ChatMessage => ({ role: 'user', content });
const answer = (content: string): ChatMessage[] => [{ role: 'assistant', content }];
const T = 256;

describe('a chat reward model reads a (prompt, completion) as it was trained on it', () => {
  for (const [name, t] of TEMPLATES) {
    it(`${name}: messages, a text prompt, and a prompt the policy already rendered give the training ids`, () => {
      // What training encodes for a conversational comparison (encodeChatCompletion, fitted to T).
      const trained = (prompt: ChatMessage[]) => fitScoredIds(encodeChatCompletion(tok, t, prompt, answer('Sure.')), T);
      const one = [user('What is it?')];
      assert.deepEqual(chatRewardIds(tok, t, 'ignored', 'Sure.', { prompt: one }, T), trained(one));
      // a text prompt is the user's turn
      assert.deepEqual(chatRewardIds(tok, t, 'What is it?', 'Sure.', undefined, T), trained(one));
      // a prompt rendered with the cue (`sample --chat`) is not rendered again
      for (const prompt of [one, CONVERSATION]) {
        const rendered = t.render(prompt, { addGenerationPrompt: true });
        assert.ok(isRenderedPrompt(t, rendered), `${name} ${JSON.stringify(rendered)}`);
        assert.deepEqual(chatRewardIds(tok, t, rendered, 'Sure.', undefined, T), trained(prompt));
      }
      assert.ok(!isRenderedPrompt(t, 'What is it?'));
      assert.ok(!isRenderedPrompt(t, '\n\nHuman: What is it?\n\nAssistant:'));
    });
  }

  it('ends at the end-of-turn token: the ChatML rendering, cut to T from the prompt’s start', () => {
    const ids = chatRewardIds(tok, CHATML, 'What is it?', 'Sure.', undefined, 64);
    assert.equal(tok.decode(ids), '<|im_start|>user\nWhat is it?<|im_end|>\n<|im_start|>assistant\nSure.<|im_end|>');
    const cut = encodeChatForReward(tok, CHATML, [user('x')], answer('Hello there, hi and bye.'), 6);
    assert.equal(cut.length, 6);
    assert.equal(cut[5], tok.tokenToId('<|im_end|>'));
    // Qwen3's answer after a rendered prompt gets the empty think block its template writes for a last answer
    const qwen3 = TEMPLATES[2][1];
    const q = chatRewardIds(tok, qwen3, qwen3.render([user('Hi')], { addGenerationPrompt: true }), 'Yo', undefined, T);
    assert.ok(tok.decode(q).endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\nYo<|im_end|>'), tok.decode(q));
  });
});

describe('RewardModel: the chat template travels with the checkpoint', () => {
  const model = () =>
    createModel(presetConfig('tiny', { vocabSize: paddedVocabSize(tok.vocabSize), eosTokenId: tok.eosId }), 3);

  it('saves rewardInput "chat" and chat_template; loading scores through it, as before saving', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-chat-rm-'));
    const rm = RewardModel.fromTrunk(model(), tok, 64, 1);
    rm.useChatTemplate(CHATML);
    const before = rm.encode('What is it?', 'Sure.');
    rm.save(dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.rlhf.rewardInput, 'chat');
    assert.equal(JSON.parse(readFileSync(join(dir, TOKENIZER_CONFIG), 'utf8')).chat_template, CHATML.text);
    const back = RewardModel.load(dir);
    assert.equal(back.input, 'chat');
    assert.deepEqual(back.encode('What is it?', 'Sure.'), before);
    assert.deepEqual(before, chatRewardIds(tok, CHATML, 'What is it?', 'Sure.', undefined, 64));

    // the flag without its template is refused, naming what is missing; an unknown value too
    rmSync(join(dir, TOKENIZER_CONFIG));
    assert.throws(() => RewardModel.load(dir), /"rewardInput": "chat".*no chat template \(tokenizer_config\.json/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, rlhf: { ...config.rlhf, rewardInput: 'x' } }));
    assert.throws(() => RewardModel.load(dir), /"rlhf\.rewardInput" is "x"; it must be "text" or "chat"/);
  });

  it('a plain reward model reads text as before, ignores messages, and says "text"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-text-rm-'));
    RewardModel.fromTrunk(model(), tok, 64, 1).save(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).rlhf.rewardInput, 'text');
    const rm = RewardModel.load(dir);
    assert.equal(rm.chatTemplate, null);
    const text = encodeForReward(tok, 'Q:', ' Sure.', 64);
    assert.deepEqual(rm.encode('Q:', ' Sure.'), text);
    assert.deepEqual(rm.encode('Q:', ' Sure.', { prompt: [user('Q')] }), text);
  });
});
