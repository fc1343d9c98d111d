import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsField } from './assert-field.js';
import { parseOpenAI } from './openai.js';

// Shaped like a line of summarize-from-feedback's comparisons/batch*.json (texts made up).
const tldr = {
  info: { id: 't3_abc', post: 'My cat ignores me.\n\nWhat do I do?', title: 'Cat help', subreddit: 'cats' },
  summaries: [
    { text: ' cat ignores me, want advice', policy: 'sup2', note: 'Misses the question.' },
    { text: ' How do I get my cat to notice me?', policy: 'ref', note: null },
  ],
  choice: 1,
  worker: 'w123',
  batch: 'batch9',
  split: 'train',
  extra: { confidence: 7 },
};

describe('OpenAI summarize-from-feedback comparisons', () => {
  it('builds the TL;DR prompt, the ranking, confidence, labeler, feedback and meta', () => {
    assert.deepEqual(parseOpenAI(tldr), {
      prompt: 'SUBREDDIT: r/cats\nTITLE: Cat help\nPOST: My cat ignores me.\n\nWhat do I do?\n\nTL;DR:',
      completions: [' cat ignores me, want advice', ' How do I get my cat to notice me?'],
      ranking: [1, 0],
      confidence: 0.75,
      feedback: 'summary 0: Misses the question.',
      labeler: 'w123',
      source: 'openai',
      meta: { id: 't3_abc', split: 'train', batch: 'batch9', policies: ['sup2', 'ref'] },
    });
  });

  it('maps confidence 1..9 to 0..1 and leaves it out when absent', () => {
    assert.equal(parseOpenAI({ ...tldr, extra: { confidence: 1 } }).confidence, 0);
    assert.equal(parseOpenAI({ ...tldr, extra: { confidence: 9 } }).confidence, 1);
    assert.equal(parseOpenAI({ ...tldr, extra: { confidence: null } }).confidence, undefined);
    assert.equal(parseOpenAI({ ...tldr, extra: undefined }).confidence, undefined);
  });

  it('uses the article prompt for CNN/DM records', () => {
    const c = parseOpenAI({
      ...tldr,
      info: { id: 'x', article: 'Rain fell.', site: 'dailymail', title: 'Rain', post: null },
      choice: 0,
    });
    assert.equal(c.prompt, 'ARTICLE: Rain fell.\n\nTL;DR:');
    assert.deepEqual(c.ranking, [0, 1]);
  });

  it('rejects bad records, naming the field', () => {
    throwsField(() => parseOpenAI({ ...tldr, info: undefined }), 'info', /missing/);
    throwsField(() => parseOpenAI({ ...tldr, info: { title: 't', subreddit: 's' } }), 'info.post', /missing/);
    throwsField(() => parseOpenAI({ ...tldr, info: { post: 'p', subreddit: 's' } }), 'info.title');
    throwsField(() => parseOpenAI({ ...tldr, choice: 2 }), 'choice', /0 or 1/);
    throwsField(() => parseOpenAI({ ...tldr, choice: '1' }), 'choice', /0 or 1/);
    throwsField(() => parseOpenAI({ ...tldr, summaries: [tldr.summaries[0]] }), 'summaries', /exactly 2/);
    throwsField(
      () => parseOpenAI({ ...tldr, summaries: [tldr.summaries[0], { policy: 'ref' }] }),
      'summaries[1].text',
      /missing/,
    );
    throwsField(
      () => parseOpenAI({ ...tldr, summaries: [tldr.summaries[0], tldr.summaries[0]] }),
      'summaries[1].text',
      /identical/,
    );
    throwsField(() => parseOpenAI({ ...tldr, extra: { confidence: 10 } }), 'extra.confidence', /\[1, 9\]/);
    throwsField(() => parseOpenAI({ ...tldr, worker: 5 }), 'worker');
  });
});
