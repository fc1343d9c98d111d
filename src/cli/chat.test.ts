// The chat-template path through the CLI: `rlhf train sft --chat-template` on conversations, then `rlhf sample
// --chat` from the checkpoint, which carries the template, rendering prompts with it and stopping at its
// end-of-turn token.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildProgram } from './main.js';

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
  });

  it('refuses conversational prompts without --chat, and --chat without a local model', async () => {
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
