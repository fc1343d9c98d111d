import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChatTemplate } from './chat-template.js';
import { findChatTemplate, loadChatTemplate, resolveChatTemplate, saveChatTemplate } from './chat-template-file.js';

const CHATML = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}";

describe('chat templates on disk', () => {
  it("reads tokenizer_config.json's chat_template, else chat_template.jinja with the config's tokens", () => {
    const root = mkdtempSync(join(tmpdir(), 'rlhf-tpl-'));
    const a = join(root, 'a'),
      b = join(root, 'b'),
      none = join(root, 'none');
    for (const d of [a, b, none]) mkdirSync(d);
    writeFileSync(join(a, 'tokenizer_config.json'), JSON.stringify({ chat_template: CHATML, eos_token: '<|im_end|>' }));
    writeFileSync(join(b, 'tokenizer_config.json'), JSON.stringify({ eos_token: '</s>' }));
    writeFileSync(join(b, 'chat_template.jinja'), CHATML);
    writeFileSync(join(b, 'tokenizer.json'), '{}');
    assert.equal(findChatTemplate(a)!.eosToken, '<|im_end|>');
    const fromJinja = findChatTemplate(b)!;
    assert.equal(fromJinja.source, join(b, 'chat_template.jinja'));
    assert.deepEqual(fromJinja.endOfTurn, ['<|im_end|>', '</s>']);
    assert.equal(findChatTemplate(none), null);
    // a bare .jinja without a config beside it takes the tokenizer's tokens
    const bare = join(root, 'chatml.jinja');
    writeFileSync(bare, CHATML);
    assert.equal(loadChatTemplate(bare, { eosToken: '<|endoftext|>' }).eosToken, '<|endoftext|>');
    // the given template wins; else the first place that has one
    assert.equal(resolveChatTemplate(bare, [a], { eosToken: 'E' })!.source, bare);
    assert.equal(resolveChatTemplate(undefined, [none, join(b, 'tokenizer.json'), a])!.source, fromJinja.source);
    assert.equal(resolveChatTemplate(undefined, [none, undefined]), null);
    assert.throws(() => loadChatTemplate(none), /none has neither tokenizer_config\.json with "chat_template" nor/);
    assert.throws(() => loadChatTemplate(join(root, 'x.jinja')), /--chat-template: .*x\.jinja does not exist/);
  });

  it('writes the template into tokenizer_config.json, keeping its other fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-tpl-'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 512, eos_token: '</s>' }));
    saveChatTemplate(dir, new ChatTemplate(CHATML, { source: 's', eosToken: '<|im_end|>', bosToken: '<s>' }));
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.deepEqual(cfg, { model_max_length: 512, eos_token: '</s>', chat_template: CHATML, bos_token: '<s>' });
    assert.equal(findChatTemplate(dir)!.text, CHATML);
  });
});
