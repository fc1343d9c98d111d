// The chat-template path through the CLI: `rlhf train sft --chat-template` on conversations, then `rlhf sample
// --chat` from the checkpoint, which carries the template, rendering prompts with it and stopping at its
// end-of-turn token; a reward model trained from it on conversational comparisons scores through the template
// (`rlhf score`, `rlhf sample --chat --best-of`).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildProgram } from './main.js';
import { encodeChatCompletion } from '../model/chat-encode.js';
import { fitScoredIds } from '../model/chat-reward.js';
import type { ChatMessage } from '../model/chat-template.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { buildModelServer } from '../remote/model-server.js';
import { scoreRewardTokens } from '../runtime/reward.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';

const answer = (content: string): ChatMessage[] => [{ role: 'assistant', content }];

/** Runs rlhf in this process; the error text, or '' when it ran. */
async function rlhfError(argv: string[]): Promise<string> {
  const p = buildProgram();
  const quiet = (c: typeof p) => {
    c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    c.commands.forEach(quiet);
  };
  quiet(p);
  try {
    await p.parseAsync(argv, { from: 'user' });
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

describe('rlhf with a chat template', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-chat-cli-'));
  const data = join(root, 'chat.jsonl');
  const questions = ['what is it?', 'hello there', 'tell me more', 'is it ok?'];
  writeFileSync(
    data,
    Array.from({ length: 64 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: questions[i % 4] },
          { role: 'assistant', content: 'sure.' },
        ],
      }),
    ).join('\n') + '\n',
  );
  const template = join(root, 'chatml.jinja');
  writeFileSync(template, CHATML);
  const model = join(root, 'sft');

  it('trains SFT on conversations with --chat-template, and samples with --chat until <|im_end|>', async () => {
    const sft = ['train', 'sft', '--data', data, '--out', model, '--chat-template', template, '--preset', 'tiny'];
    const opts = ['--vocab-size', '300', '--context', '32', '--steps', '80', '--batch-size', '8', '--lr', '0.01'];
    assert.equal(await rlhfError([...sft, ...opts, '--warmup', '5', '--eval-fraction', '0', '--quiet']), '');
    const prompts = join(root, 'prompts.jsonl');
    writeFileSync(prompts, JSON.stringify({ prompt: [{ role: 'user', content: 'is it ok?' }] }) + '\n');
    const out = join(root, 'samples.jsonl');
    const sample = ['sample', '--model', model, '--chat', '--prompt', 'what is it?', '--prompts', prompts];
    assert.equal(await rlhfError([...sample, '--temperature', '0', '--max-new-tokens', '8', '--out', out]), '');
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, 2);
    assert.equal(records[0].prompt, '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual(records[1].messages, [{ role: 'user', content: 'is it ok?' }]);
    for (const r of records) {
      assert.equal(r.completion, 'sure.');
      assert.equal(r.finish_reason, 'stop');
    }
    // On a server: rendered here, sent as the rendering's token ids, answered the same.
    const ck = loadCheckpoint(model);
    const app = buildModelServer(ck.model, ck.tokenizer!);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const remoteOut = join(root, 'samples-remote.jsonl');
      const args = [...sample, '--temperature', '0', '--max-new-tokens', '8', '--out', remoteOut, '--generator', url];
      assert.equal(await rlhfError(args), '');
      assert.equal(readFileSync(remoteOut, 'utf8'), readFileSync(out, 'utf8'));
    } finally {
      await app.close();
    }
  });

  it('trains a reward model on conversations that scores through the template: score, best-of', async () => {
    const prefs = join(root, 'prefs.jsonl');
    const row = (q: string) => ({
      prompt: [{ role: 'user', content: q }],
      chosen: [{ role: 'assistant', content: 'sure.' }],
      rejected: [{ role: 'assistant', content: 'no.' }],
    });
    writeFileSync(prefs, Array.from({ length: 16 }, (_, i) => JSON.stringify(row(questions[i % 4]))).join('\n') + '\n');
    const rmDir = join(root, 'rm');
    // --init's chat template (the SFT model's) is the reward model's
    const train = ['train', 'reward', '--train', prefs, '--init', model, '--out', rmDir, '--context', '32'];
    const opts = ['--steps', '20', '--batch-size', '8', '--lr', '0.01', '--eval-fraction', '0', '--quiet'];
    assert.equal(await rlhfError([...train, ...opts]), '');
    const config = JSON.parse(readFileSync(join(rmDir, 'config.json'), 'utf8'));
    assert.equal(config.rlhf.rewardInput, 'chat');
    const rm = RewardModel.load(rmDir);
    const encoded = (q: string, a: string) =>
      fitScoredIds(encodeChatCompletion(rm.tokenizer, rm.chatTemplate!, row(q).prompt as ChatMessage[], answer(a)), 32);
    const want = (q: string, a: string) => scoreRewardTokens(rm, [encoded(q, a)])[0];

    // rlhf score: each record's answers through the template
    const scores = join(root, 'scores.jsonl');
    assert.equal(await rlhfError(['score', '--model', rmDir, '--data', prefs, '--out', scores]), '');
    const first = JSON.parse(readFileSync(scores, 'utf8').split('\n')[0]);
    assertAllClose(first.rewards, [want(questions[0], 'sure.'), want(questions[0], 'no.')], 1e-4);

    // rlhf sample --chat --best-of: the prompt's messages go to the reward model, which renders them once
    const best = join(root, 'best.jsonl');
    const sample = ['sample', '--model', model, '--chat', '--prompt', 'what is it?', '--best-of', '2'];
    assert.equal(await rlhfError([...sample, '--reward', rmDir, '--max-new-tokens', '6', '--out', best]), '');
    const r = JSON.parse(readFileSync(best, 'utf8').trim());
    assert.equal(r.prompt, '<|im_start|>user\nwhat is it?<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual(r.messages, [{ role: 'user', content: 'what is it?' }]);
    assertClose(r.reward, want('what is it?', r.completion), 1e-4);
  });

  it('refuses conversational prompts without --chat, and --chat without a model to render them', async () => {
    const prompts = join(root, 'conv-prompts.jsonl');
    writeFileSync(
      prompts,
      `${JSON.stringify({ prompt: 'text' })}\n${JSON.stringify({ prompt: [{ role: 'user', content: 'q' }] })}\n`,
    );
    assert.match(
      await rlhfError(['sample', '--model', model, '--prompts', prompts]),
      /conv-prompts\.jsonl:2: "prompt" is a list of messages; .*rlhf sample --chat/,
    );
    assert.match(
      await rlhfError(['sample', '--generator', 'http://127.0.0.1:9', '--chat', '--prompt', 'q']),
      /--chat renders prompts with the chat template of --model DIR/,
    );
  });
});
