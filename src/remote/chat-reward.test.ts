// A reward model trained on TRL conversational comparisons with a chat template, saved and loaded back:
// everything that scores with it (scoreRewards, the reward set of --reward DIR, serve-reward and its client,
// best-of-N) reads each pair through the template, into the ids training used; a plain reward model reads
// text exactly as before.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Comparison } from '../data/comparison.js';
import { readComparisons } from '../data/read-comparisons.js';
import { encodeChatCompletion, encodePromptMessages } from '../model/chat-encode.js';
import { fitScoredIds } from '../model/chat-reward.js';
import { type ChatMessage, ChatTemplate } from '../model/chat-template.js';
import { paddedVocabSize, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel, encodeForReward } from '../model/reward-model.js';
import { scoreRewardTokens, scoreRewards } from '../runtime/reward.js';
import { bestOfN } from '../train/best-of-n.js';
import { LocalGenerator } from '../train/generator.js';
import { defaultRewardConfig } from '../train/reward-config.js';
import { rewardModelFn, scoreWith } from '../train/reward-fn.js';
import { trainRewardModel } from '../train/reward.js';
import { remoteRewardFn } from './reward-client.js';
import { buildRewardServer } from './reward-server.js';
import { loadRewardSet } from './reward-set.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';

const CHATML = new ChatTemplate(
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  { source: 'chatml.jinja', eosToken: '<|endoftext|>' },
);
const QUESTIONS = ['what is it?', 'hello there', 'tell me more', 'is it ok?'];
const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const T = 32;

const root = mkdtempSync(join(tmpdir(), 'rlhf-chat-rm-'));
const data = join(root, 'prefs.jsonl');
writeFileSync(
  data,
  Array.from({ length: 32 }, (_, i) =>
    JSON.stringify({
      prompt: user(QUESTIONS[i % 4]),
      chosen: [{ role: 'assistant', content: 'sure.' }],
      rejected: [{ role: 'assistant', content: 'no.' }],
    }),
  ).join('\n') + '\n',
);
const comps: Comparison[] = readComparisons(data).comparisons;

function train(outDir: string, chatTemplate: ChatTemplate | null): RewardModel {
  const cfg = { ...defaultRewardConfig, preset: 'tiny', vocabSize: 300, contextLength: T, steps: 30, batchSize: 8 };
  const run = { ...cfg, lr: 1e-2, warmupSteps: 2, evalEvery: 0, quiet: true, outDir, chatTemplate };
  return trainRewardModel(comps, [], run, () => {}).rm;
}

async function post(url: string, body: unknown): Promise<{ scores: number[] }> {
  const res = await fetch(`${url}/v1/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { scores: number[] };
}

describe('a chat reward model, trained, saved and loaded back', () => {
  const dir = join(root, 'rm');
  const trained = train(dir, CHATML);
  const rm = RewardModel.load(dir);
  const tok = rm.tokenizer;
  const q = QUESTIONS[0];
  const rendered = CHATML.render(user(q), { addGenerationPrompt: true });
  // The ids training gave this comparison's chosen answer (what its encoder, the trained model's encode, gave
  // EncodedComparisons): the rendered pair through <|im_end|>.
  const c = comps[0];
  const expected = fitScoredIds(encodeChatCompletion(tok, CHATML, user(q), c.chat!.completions[0]), T);
  const plainIds = encodeForReward(tok, q, 'sure.', T);
  const chatScore = (completion: string) => scoreRewardTokens(rm, [rm.encode(q, completion)])[0];

  it('keeps the template and the flag, and encodes every form of a pair as training did', () => {
    assert.equal(rm.input, 'chat');
    assert.equal(rm.chatTemplate?.text, CHATML.text);
    assert.equal(
      tok.decode(expected),
      '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\nsure.<|im_end|>',
    );
    assert.deepEqual(
      trained.encode(c.prompt, c.completions[0], { prompt: c.chat!.prompt, completion: c.chat!.completions[0] }),
      expected,
    );
    for (const ids of [
      rm.encode(q, 'sure.'), // a text prompt: the user's turn
      rm.encode(rendered, 'sure.'), // rendered by the policy: not rendered again
      rm.encode(c.prompt, 'sure.', { prompt: user(q) }), // the prompt's messages win over its text
    ])
      assert.deepEqual(ids, expected);
  });

  it('scoreRewards and the reward set of --reward DIR score the rendered pair, not the plain text', async () => {
    const [atTraining] = scoreRewardTokens(trained, [expected]);
    const [chat] = scoreRewardTokens(rm, [expected]);
    assert.equal(chat, atTraining, 'the same weights, bias and ids after loading');
    assert.ok(chatScore('sure.') > chatScore('no.'), 'it learned the preference');
    const [plain] = scoreRewardTokens(rm, [plainIds]);
    assert.ok(Math.abs(chat - plain) > 1e-3, `chat ${chat}, plain text ${plain}`);
    const items = [
      { prompt: q, completion: 'sure.' },
      { prompt: rendered, completion: 'sure.' },
      { prompt: rendered, completion: 'sure.', messages: user(q) },
    ];
    // NOTE: scores agree to float rounding only: a batch's padding and size change the sums' order.
    assertAllClose(scoreRewards(rm, items), [chat, chat, chat], 1e-4);
    const set = await loadRewardSet([dir]);
    assertAllClose((await set.score(items)).total, [chat, chat, chat], 1e-4);
  });

  it('serve-reward renders prompts sent as text, as messages, or rendered with their messages', async () => {
    const app = buildRewardServer(rewardModelFn(rm));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const both = [chatScore('sure.'), chatScore('no.')];
      assertAllClose((await post(url, { prompt: q, completions: ['sure.', 'no.'] })).scores, both, 1e-4);
      assertAllClose((await post(url, { prompt: user(q), completions: ['sure.', 'no.'] })).scores, both, 1e-4);
      const body = { prompt: rendered, messages: user(q), completions: ['sure.', 'no.'] };
      assertAllClose((await post(url, body)).scores, both, 1e-4);
      // the client sends each item's messages along
      const remote = remoteRewardFn(url);
      const items = [
        { prompt: 'a rendering the server cannot read', completion: 'sure.', messages: user(q) },
        { prompt: 'a rendering the server cannot read', completion: 'no.', messages: user(QUESTIONS[1]) },
      ];
      const got = await scoreWith(remote, items);
      assertAllClose(got, scoreRewards(rm, items), 1e-4);
      assertClose(got[0], both[0], 1e-4);
      const asText = scoreRewards(rm, [{ ...items[0], messages: undefined }])[0];
      assert.ok(Math.abs(got[0] - asText) > 1e-3, 'without its messages the prompt is read as the user’s text');
    } finally {
      await app.close();
    }
  });

  it('best-of-N scores samples of text and of chat-rendered prompts through the template', async () => {
    const policy = createModel(
      presetConfig('tiny', { vocabSize: paddedVocabSize(tok.vocabSize), eosTokenId: tok.eosId }),
      5,
    );
    const gen = new LocalGenerator(policy, tok);
    const opts = { maxNewTokens: 4, temperature: 1, seed: 3, stop: [...CHATML.endOfTurn] };
    const chatPrompt = { prompt: rendered, promptIds: encodePromptMessages(tok, CHATML, user(q)), messages: user(q) };
    const results = await bestOfN(gen, [q, chatPrompt], 3, rewardModelFn(rm), opts);
    for (const r of results) {
      assert.equal(r.reward, Math.max(...r.rewards));
      assertClose(r.reward, scoreRewards(rm, [{ prompt: q, completion: r.completion }])[0], 1e-4);
      const plain = scoreRewardTokens(rm, [encodeForReward(tok, r.prompt, r.completion, T)])[0];
      assert.ok(Math.abs(r.reward - plain) > 1e-3, `best-of reward ${r.reward}, plain text ${plain}`);
    }
  });
});

describe('a plain reward model (no template) reads text exactly as before', () => {
  const dir = join(root, 'plain');
  train(dir, null);
  const rm = RewardModel.load(dir);

  it('says "text", encodes the text layout, and ignores messages', async () => {
    assert.equal(rm.input, 'text');
    assert.equal(rm.chatTemplate, null);
    const c = comps[0];
    assert.equal(c.prompt, '\n\nHuman: what is it?\n\nAssistant:');
    const ids = encodeForReward(rm.tokenizer, c.prompt, c.completions[0], T);
    const chat = { prompt: c.chat!.prompt, completion: c.chat!.completions[0] };
    assert.deepEqual(rm.encode(c.prompt, c.completions[0], chat), ids);
    const [score] = scoreRewardTokens(rm, [ids]);
    const item = { prompt: c.prompt, completion: c.completions[0] };
    assertAllClose(scoreRewards(rm, [item, { ...item, messages: c.chat!.prompt }]), [score, score], 1e-4);
    assertAllClose((await (await loadRewardSet([dir])).score([item])).total, [score], 1e-4);
  });
});
