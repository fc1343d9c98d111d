// KTO and online DPO on conversations: rows and prompts as lists of messages go through the policy's chat
// template, which is saved with the policy.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findChatTemplate } from '../model/chat-template-file.js';
import { paddedVocabSize, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { CHATML_TEMPLATE, chatmlTokenizer } from './test-fixtures.js';
import { parseUnpaired } from '../data/formats/trl-unpaired.js';
import { defaultKTOConfig, encodeKTORows, trainKTO } from './kto.js';
import { defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { frozenReference } from './reference.js';
import type { ScoredText } from './reward-fn.js';
const CHATML = CHATML_TEMPLATE;
const tok = chatmlTokenizer('hello there, sure. what is it? ok then no');
const user = (content: string) => ({ role: 'user' as const, content });
const policy = () =>
  createModel(presetConfig('tiny', { vocabSize: paddedVocabSize(tok.vocabSize), eosTokenId: tok.eosId }), 1);
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-chat-trainers-'));

describe('KTO and online DPO on conversations', () => {
  it("kto: a conversational row is the prompt up to the assistant's cue and the answer through <|im_end|>", () => {
    const rows = Array.from({ length: 8 }, (_, i) =>
      parseUnpaired({
        prompt: [user(`what is it? ${i}`)],
        completion: [{ role: 'assistant', content: i % 2 ? 'no' : 'sure.' }],
        label: i % 2 === 0,
      }),
    );
    const model = policy();
    const [r] = encodeKTORows(model, tok, rows, { maxLength: 64, chatTemplate: CHATML }, frozenReference(model, tok));
    assert.equal(tok.decode(r.pair.prompt), '<|im_start|>user\nwhat is it? 0<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(tok.decode(r.pair.completion), 'sure.<|im_end|>');
    const outDir = join(tmp(), 'kto');
    const cfg = { ...defaultKTOConfig, outDir, steps: 2, batchSize: 4, quiet: true, chatTemplate: CHATML };
    assert.ok(Number.isFinite(trainKTO(model, tok, rows, [], cfg, () => {}).finalLoss));
    assert.equal(findChatTemplate(outDir)?.text, CHATML.text);
  });

  it('online-dpo: conversational prompts rendered with the template, answers stopped at <|im_end|>', async () => {
    const seen: ScoredText[] = [];
    const reward = (items: ScoredText[]) => {
      seen.push(...items);
      return items.map((x) => x.completion.length);
    };
    const outDir = join(tmp(), 'odpo');
    const prompts = [{ prompt: [user('what is it?')], columns: { id: 1 } }, ' hello'];
    const cfg = { ...defaultOnlineDPOConfig, outDir, steps: 2, batchSize: 2, maxNewTokens: 6, quiet: true };
    await trainOnlineDPO(policy(), tok, prompts, reward, { ...cfg, chatTemplate: CHATML }, () => {});
    const chat = seen.find((x) => x.prompt !== ' hello')!;
    assert.equal(chat.prompt, '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual(chat.columns, { id: 1 }, "the row's other fields reach the reward");
    assert.ok(
      seen.every((x) => !x.completion.includes('<|im_end|>')),
      'scored without the end of turn',
    );
    assert.equal(findChatTemplate(outDir)?.text, CHATML.text);
    await assert.rejects(
      trainOnlineDPO(policy(), tok, prompts, reward, { ...cfg, outDir: tmp() }, () => {}),
      /a prompt is a list of messages but the policy has no chat template; give --chat-template/,
    );
  });
});
