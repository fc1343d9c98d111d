import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IGNORE_INDEX } from '../engine/ops/loss.js';
import { maskedSource } from '../data/lm-batches.js';
import { readSFTData } from '../data/text.js';
import { ChatTemplate } from '../model/chat-template.js';
import { findChatTemplate } from '../model/chat-template-file.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { CHATML_TEMPLATE, chatmlTokenizer } from './test-fixtures.js';
import { paddedVocabSize, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { conversationExamples, encodeChatPair, templateOrPlain } from './chat-data.js';
import { encodeChatForReward } from '../model/chat-reward.js';
import { encodeForReward } from '../model/reward-model.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';
import { defaultDPOConfig, trainDPO } from './dpo.js';
import { defaultRewardConfig } from './reward-config.js';
import { trainRewardModel } from './reward.js';
import type { Comparison } from '../data/comparison.js';
const CHATML = CHATML_TEMPLATE;
const tok = chatmlTokenizer('hello there, sure. what is it? ok then');
const user = (content: string) => ({ role: 'user' as const, content });
const answer = (content: string) => ({ role: 'assistant' as const, content });

describe('conversational pairs for DPO and reward models', () => {
  it('DPO: the prompt up to the cue, the answer through <|im_end|>, cut to the context from the prompt’s start', () => {
    const p = encodeChatPair(tok, CHATML, [user('what is it?')], [answer('sure.')], 64);
    assert.equal(tok.decode(p.prompt), '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(tok.decode(p.completion), 'sure.<|im_end|>');
    const short = encodeChatPair(tok, CHATML, [user('what is it?')], [answer('sure.')], p.completion.length + 1);
    assert.deepEqual(short.prompt, p.prompt.slice(-2));
    assert.deepEqual(short.completion, p.completion);
  });

  it('reward: the rendered prompt and answer ending at <|im_end|>; text comparisons as before', () => {
    const ids = encodeChatForReward(tok, CHATML, [user('what is it?')], [answer('ok then')], 64);
    assert.equal(tok.decode(ids), '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\nok then<|im_end|>');
    // too long: the end-of-turn token stays last
    const cut = encodeChatForReward(tok, CHATML, [user('x')], [answer('hello there, sure.')], 6);
    assert.equal(cut.length, 6);
    assert.equal(cut[5], tok.tokenToId('<|im_end|>'));
    assert.deepEqual(encodeForReward(tok, 'Q:', ' a', 64), [...tok.encode('Q: a'), tok.eosId]);
  });

  it('without a template, conversations take the plain Human/Assistant layout ended by EOS', () => {
    const plain = templateOrPlain(null, tok);
    assert.equal(plain.render([user('Hi'), answer('Hello')]), '\n\nHuman: Hi\n\nAssistant: Hello<|endoftext|>');
    assert.deepEqual(plain.endOfTurn, ['<|endoftext|>']);
    const p = encodeChatPair(tok, plain, [user('Hi')], [answer('Hello')], 64);
    // the same ids as the text layout DPO gives a conversational comparison without a template
    assert.deepEqual([...p.prompt, ...p.completion], [...tok.encode('\n\nHuman: Hi\n\nAssistant: Hello'), tok.eosId]);
  });
});

describe('SFT on conversations', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-sft-chat-'));
  const data = join(root, 'chat.jsonl');
  const QUESTIONS = ['what is it?', 'hello there', 'tell me more', 'is it ok?'];
  writeFileSync(
    data,
    Array.from({ length: 64 }, (_, i) => JSON.stringify({ messages: [user(QUESTIONS[i % 4]), answer('sure.')] })).join(
      '\n',
    ) + '\n',
  );

  it('puts the loss on the assistant tokens only, and learns them but not the user’s', () => {
    const out = join(root, 'sft');
    trainSFT(
      {
        ...defaultSFTConfig,
        data,
        outDir: out,
        preset: 'tiny',
        vocabSize: 300,
        contextLength: 32,
        batchSize: 8,
        steps: 80,
        lr: 1e-2,
        warmupSteps: 5,
        evalFraction: 0,
        evalEvery: 0,
        quiet: true,
        chatTemplate: CHATML,
      },
      () => {},
    );
    const ck = loadCheckpoint(out);
    const t = ck.tokenizer!;
    // the new tokenizer has the template's markers as single tokens, and the checkpoint keeps the template
    assert.equal(t.encode('<|im_end|>', { allowSpecial: true }).length, 1);
    assert.equal(findChatTemplate(out)?.text, CHATML.text);
    assert.ok(existsSync(join(out, 'tokenizer_config.json')));

    // the loss mask: the targets of every row are exactly "sure.<|im_end|>"
    const d = readSFTData(data);
    assert.equal(d.kind, 'conversation');
    if (d.kind !== 'conversation') return;
    const examples = conversationExamples(d.conversations, t, CHATML, data).map((e) => e.ex);
    const b = maskedSource(examples, 32, t.eosId).fixed(8, 1)[0];
    for (let r = 0; r < b.B; r++) {
      const targets = Array.from(b.targets.subarray(r * b.T, (r + 1) * b.T)).filter((x) => x !== IGNORE_INDEX);
      assert.equal(t.decode(targets), 'sure.<|im_end|>');
    }

    // learned: the answer after the cue; not learned: the user's words after the user header
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const enc = (s: string) => t.encode(s, { allowSpecial: true });
    const [answerLp, userLp] = completionLogProbs(
      ck.model,
      [
        {
          prompt: enc('<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\n'),
          completion: enc('sure.<|im_end|>'),
        },
        { prompt: enc('<|im_start|>user\n'), completion: enc('what is it?') },
      ],
      t.eosId,
      { vocabSize: t.vocabSize },
    );
    assert.ok(mean(answerLp) > -0.3, `answer log-prob per token ${mean(answerLp)}`);
    assert.ok(mean(userLp) < -2, `user log-prob per token ${mean(userLp)}`);
  });

  it('names the file and line of a conversation the template refuses', () => {
    const strict = new ChatTemplate(
      "{% if messages[0].role != 'system' %}{{ raise_exception('system first') }}{% endif %}",
      {
        source: 'strict.jinja',
      },
    );
    assert.throws(
      () =>
        conversationExamples([{ messages: [user('q'), answer('a')], trainFrom: 0, line: 7 }], tok, strict, 'f.jsonl'),
      /^Error: f\.jsonl:7: strict\.jinja: the chat template refuses this conversation: system first/,
    );
  });
});

describe('DPO and reward models on conversational comparisons', () => {
  const comps: Comparison[] = Array.from({ length: 8 }, (_, i) => ({
    prompt: 'ignored with a template',
    completions: [' sure.', ' no.'],
    ranking: [0, 1],
    chat: { prompt: [user(`question ${i}`)], completions: [[answer('sure.')], [answer('no.')]] },
  }));
  const refusing = new ChatTemplate("{{ raise_exception('not this one') }}", { source: 'refusing.jinja' });

  it('encode them with the template, and save it with the model', () => {
    const root = mkdtempSync(join(tmpdir(), 'rlhf-chat-pairs-'));
    const { model } = tinyPolicy(tok);
    const dpo = { ...defaultDPOConfig, steps: 2, batchSize: 4, evalEvery: 0, quiet: true };
    // the template is what encodes them: one that refuses every conversation stops the run
    assert.throws(
      () => trainDPO(model, tok, comps, [], { ...dpo, outDir: join(root, 'x'), chatTemplate: refusing }, () => {}),
      /refusing\.jinja: the chat template refuses this conversation: not this one/,
    );
    const r = trainDPO(model, tok, comps, [], { ...dpo, outDir: join(root, 'dpo'), chatTemplate: CHATML }, () => {});
    assert.ok(Number.isFinite(r.finalLoss));
    assert.equal(findChatTemplate(join(root, 'dpo'))?.text, CHATML.text);

    const reward = { ...defaultRewardConfig, preset: 'tiny', vocabSize: 300, contextLength: 32, steps: 2 };
    const rcfg = { ...reward, batchSize: 4, evalEvery: 0, quiet: true, outDir: join(root, 'rm') };
    assert.throws(() => trainRewardModel(comps, [], { ...rcfg, chatTemplate: refusing }, () => {}), /refusing\.jinja/);
    const { rm } = trainRewardModel(comps, [], { ...rcfg, chatTemplate: CHATML }, () => {});
    assert.equal(rm.tokenizer.encode('<|im_end|>', { allowSpecial: true }).length, 1);
    assert.equal(findChatTemplate(join(root, 'rm'))?.text, CHATML.text);
    // a reward model trained on conversations with a template scores through it wherever it is loaded
    assert.equal(rm.input, 'chat');
    assert.equal(loadCheckpoint(join(root, 'rm')).meta.rewardInput, 'chat');
  });
});

/** A tiny untrained policy over this file's tokenizer. */
function tinyPolicy(t: Tokenizer) {
  return {
    model: createModel(presetConfig('tiny', { vocabSize: paddedVocabSize(t.vocabSize), eosTokenId: t.eosId }), 1),
  };
}
