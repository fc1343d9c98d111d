import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePrompt, fitPromptText, promptRoom } from './prompt.js';
import { encodeForReward } from './reward-model.js';
import { Tokenizer } from './tokenizer/index.js';

const tok = Tokenizer.train(['the cat sat on the mat. the dog sat on the log.'], { vocabSize: 280 });

describe('encodePrompt', () => {
  it('starts an empty prompt from the end-of-text token', () => {
    assert.deepEqual(encodePrompt(tok, ''), [tok.eosId]);
    assert.deepEqual(encodePrompt(tok, '', 1), [tok.eosId]);
  });

  it('encodes a prompt that fits as it is', () => {
    assert.deepEqual(encodePrompt(tok, 'the cat'), tok.encode('the cat'));
    const ids = tok.encode('the cat sat');
    assert.deepEqual(encodePrompt(tok, 'the cat sat', ids.length), ids);
  });

  it('keeps the last tokens of a long prompt, so prompt + new tokens fit the context', () => {
    const ids = tok.encode('the dog sat on the log. the cat sat on the mat.');
    assert.ok(ids.length > 6);
    const room = promptRoom(16, 10);
    assert.equal(room, 6);
    assert.deepEqual(encodePrompt(tok, 'the dog sat on the log. the cat sat on the mat.', room), ids.slice(-6));
  });

  it('refuses a context with no room for the prompt, naming the option to lower', () => {
    assert.throws(() => encodePrompt(tok, 'the', 0), /room for the prompt must be at least 1 token, got 0/);
    assert.throws(
      () => promptRoom(64, 64),
      /maxNewTokens \(64\) leaves no room .* context of 64 tokens; lower it to at most 63/,
    );
  });
});

describe('fitPromptText', () => {
  it('returns the prompt when it fits, else the text of its last tokens', () => {
    assert.equal(fitPromptText(tok, 'the cat', 10), 'the cat');
    assert.equal(fitPromptText(tok, '', 1), '');
    const long = 'the dog sat on the log. the cat sat on the mat.';
    const ids = tok.encode(long);
    const text = fitPromptText(tok, long, 4);
    assert.equal(text, tok.decode(ids.slice(-4)));
    assert.ok(long.endsWith(text));
  });
});

describe('encodeForReward (prompt + completion + end-of-text, as the reward model scores it)', () => {
  it('encodes its prompt as encodePrompt does: an empty one is end-of-text', () => {
    assert.deepEqual(encodeForReward(tok, '', 'the cat', 16), [tok.eosId, ...tok.encode('the cat'), tok.eosId]);
    assert.deepEqual(encodeForReward(tok, 'the', ' cat', 16), [...tok.encode('the'), ...tok.encode(' cat'), tok.eosId]);
  });

  it('fits T tokens: the prompt loses its start first, and keeps at least one token', () => {
    const long = 'the dog sat on the log. the cat sat on the mat.';
    const ids = encodeForReward(tok, long, ' the cat', 8);
    const c = tok.encode(' the cat');
    assert.equal(ids.length, 8);
    assert.deepEqual(ids, [...tok.encode(long).slice(-(7 - c.length)), ...c, tok.eosId]);
    const cut = encodeForReward(tok, 'the', long, 8);
    assert.equal(cut.length, 8);
    assert.deepEqual(cut, [...tok.encode('the').slice(-1), ...tok.encode(long).slice(0, 6), tok.eosId]);
  });
});
