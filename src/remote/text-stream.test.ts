import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer } from '../model/tokenizer/index.js';
import { TextStream, heldBack } from './text-stream.js';

// A small vocabulary: most characters are one byte token, so multi-byte characters span tokens.
const tok = Tokenizer.train(['the cat sat on the mat. a dog ran.'], { vocabSize: 262 });
const decode = (ids: number[]) => tok.decode(ids);

/** Pushes every token of `text`; returns what was sent after each token, and the flush. */
function feed(text: string, stop: string[] = []) {
  const ts = new TextStream(decode, stop);
  const sent: string[] = [];
  let stoppedAt = -1;
  const ids = tok.encode(text);
  for (let i = 0; i < ids.length; i++) {
    const r = ts.push(ids[i]);
    sent.push(r.delta);
    if (r.stop) {
      stoppedAt = i;
      break;
    }
  }
  if (stoppedAt < 0) sent.push(ts.flush());
  return { ids, sent, stoppedAt, final: ts.final };
}

describe('TextStream: the text of a completion as it grows', () => {
  it('never sends part of a multi-byte character, and the pieces join to the decoded text', () => {
    const text = 'héllo wörld ✓ 🙂 日本語 👩‍👩‍👧 ok';
    const { ids, sent, final } = feed(text);
    assert.ok(ids.length > [...text].length, 'the test needs characters that span tokens');
    assert.ok(
      sent.some((d) => d === ''),
      'some tokens end inside a character and send nothing',
    );
    for (const d of sent) assert.ok(!d.includes('\uFFFD'), `a piece holds a broken character: ${JSON.stringify(d)}`);
    assert.equal(sent.join(''), text);
    assert.equal(final, text);
  });

  it('an incomplete character at the end is flushed as U+FFFD, as the whole decode gives it', () => {
    const ids = tok.encode('a🙂').slice(0, -1); // the emoji without its last byte
    const ts = new TextStream(decode);
    const pieces = ids.map((id) => ts.push(id).delta);
    assert.equal(pieces.join(''), 'a');
    assert.equal(ts.flush(), tok.decode(ids).slice(1));
    assert.equal(ts.final, tok.decode(ids));
  });

  it('stops at a stop string spanning tokens, sending nothing of it or after it', () => {
    const text = 'the cat sat on the mat';
    const { ids, sent, stoppedAt, final } = feed(text, ['t on', 'zzz']);
    assert.equal(final, 'the cat sa');
    assert.equal(sent.join(''), 'the cat sa');
    // It stops at the token that completes "t on", not later.
    assert.equal(decode(ids.slice(0, stoppedAt + 1)).endsWith('t on'), true);
    // While "t o" might still become the stop string, the "t" was held back.
    let sofar = '';
    for (const d of sent) {
      sofar += d;
      assert.ok('the cat sa'.startsWith(sofar), `sent ${JSON.stringify(sofar)} beyond the cut`);
    }
  });

  it('a false start of a stop string is held back, then sent when it cannot match any more', () => {
    const ts = new TextStream(decode, ['cat!']);
    const out: string[] = [];
    for (const id of tok.encode('a cat sat')) out.push(ts.push(id).delta);
    out.push(ts.flush());
    assert.equal(out.join(''), 'a cat sat');
    const upToCat = tok.encode('a cat').length;
    assert.ok(!out.slice(0, upToCat).join('').includes('cat'), 'the "cat" waits for the next character');
    // At the end, a held-back start of a stop string is sent: it did not become one.
    const end = new TextStream(decode, ['mat!']);
    const pieces = tok.encode('the ma').map((id) => end.push(id).delta);
    assert.equal(pieces.join(''), 'the ');
    assert.equal(end.flush(), 'ma');
  });

  it('with the earliest of several stop strings, and a stop string found at the first token', () => {
    assert.equal(feed('a dog ran. the cat', ['cat', 'dog', ' ran']).final, 'a ');
    assert.equal(feed('the cat', ['t']).final, '');
  });

  it('decodes through a window, so a decoder that strips a leading space does not strip it mid-text', () => {
    // SentencePiece-style: every piece starts with a space, and the decoder strips the text's first one.
    const pieces = [' Hello', ' World', '!', ' again'];
    const sp = (ids: number[]) =>
      ids
        .map((i) => pieces[i])
        .join('')
        .replace(/^ /, '');
    const ts = new TextStream(sp);
    const sent = [0, 1, 2, 3].map((id) => ts.push(id).delta);
    assert.deepEqual(sent, ['Hello', ' World', '!', ' again']);
  });

  it('heldBack: the longest end of the text that starts a stop string', () => {
    assert.equal(heldBack('abc', ['cde']), 1);
    assert.equal(heldBack('abcd', ['cde', 'bcdx']), 3);
    assert.equal(heldBack('abc', ['abc']), 0, 'a whole stop string is found, not held');
    assert.equal(heldBack('abc', []), 0);
  });
});
