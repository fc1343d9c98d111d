// `--judge URL` against a small fake OpenAI-compatible chat server: the pairwise question in both orders,
// the verdicts read from its answers, the win rate counted by hand, the model asked for, answers that name
// no completion, and the same pair never sent twice.

import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { judgeMessages, judgeRoot, judgeSignal, parseChoice } from './judge.js';
import type { MonitorSamples } from '../train/monitor-signals.js';

interface Seen {
  model: string;
  a: string;
  b: string;
}

/** The fake judge prefers the completion with more "a"; on "???" it answers no letter, and on a tie "A". */
function fakeJudge(seen: Seen[]): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-judge', object: 'model' }] }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { message: `no ${req.url}` } }));
        return;
      }
      const b = JSON.parse(body);
      const user: string = b.messages.at(-1).content;
      const a = /Completion A:\n(.*)\n\nCompletion B:/s.exec(user)![1];
      const bb = /Completion B:\n(.*)\n\nWhich/s.exec(user)![1];
      seen.push({ model: b.model, a, b: bb });
      const count = (s: string) => (s.match(/a/g) ?? []).length;
      const content = a.includes('???') || bb.includes('???') ? 'I cannot tell.' : count(bb) > count(a) ? 'B' : 'A';
      res.end(
        JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }),
      );
    });
  });
}

const samples = (texts: string[], referenceTexts: string[]): MonitorSamples => ({
  prompts: texts.map((_, i) => `p${i}`),
  messages: texts.map(() => undefined),
  columns: texts.map(() => ({})),
  texts,
  referenceTexts,
});

describe('the pairwise judge (--judge URL)', () => {
  const seen: Seen[] = [];
  const server = fakeJudge(seen);
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => server.close());

  it('asks each pair in both orders and counts the wins by hand', async () => {
    const judge = await judgeSignal(url, { retries: 0 });
    // prompt 0: policy "a a" beats reference "b" in both orders → 2 wins;
    // prompt 1: policy "b" against reference "a": lost both → 0;
    // prompt 2: "a" against "a": identical samples are a tie twice → 1;
    // prompt 3: "b b" against "c": neither has an "a", so the fake says A both times: one win, one loss → 1.
    // (2 + 0 + 1 + 1) / 8 = 0.5
    const r = await judge.measure(samples(['a a', 'b', 'a', 'b b'], ['b', 'a', 'a', 'c']), {} as never);
    assert.equal(r.value, 0.5);
    assert.equal(r.extra?.judge_invalid, 0);
    assert.ok(
      seen.every((s) => s.model === 'fake-judge'),
      'the model the server lists',
    );
    const first = seen.filter((s) => s.a === 'a a' || s.b === 'a a');
    assert.deepEqual(
      first.map((s) => [s.a, s.b]).sort(),
      [
        ['a a', 'b'],
        ['b', 'a a'],
      ],
      'both orders',
    );
  });

  it('answers with no letter are left out of the rate and counted; a pair asked again is not sent', async () => {
    seen.length = 0;
    const judge = await judgeSignal(url, { model: 'mine', retries: 0 });
    const s = samples(['a a a', '???'], ['b', 'a']);
    const r = await judge.measure(s, {} as never);
    // prompt 0 wins twice; prompt 1's two answers name no completion: 2 / 2 judged, 2 of 4 unreadable.
    assert.equal(r.value, 1);
    assert.equal(r.extra?.judge_invalid, 0.5);
    assert.equal(seen.length, 4);
    assert.ok(seen.every((x) => x.model === 'mine'));
    await judge.measure(s, {} as never);
    assert.equal(seen.length, 4, 'cached');
  });

  it('reads the letter from short answers, and no verdict from answers that name both', () => {
    assert.equal(parseChoice('A'), 'A');
    assert.equal(parseChoice(' **B**.'), 'B');
    assert.equal(parseChoice('Completion B'), 'B');
    assert.equal(parseChoice('A or B? Hard to say'), null);
    assert.equal(parseChoice('Neither'), null);
    assert.equal(parseChoice('B, B'), 'B');
  });

  it('the server root from any form of the URL; a judge that is down fails at once, naming it', async () => {
    for (const u of ['http://h:8000', 'http://h:8000/v1', 'http://h:8000/v1/chat/completions'])
      assert.equal(judgeRoot(u), 'http://h:8000');
    assert.match(judgeMessages('P', 'x', 'y')[1].content, /Prompt:\nP\n\nCompletion A:\nx\n\nCompletion B:\ny/);
    await assert.rejects(
      judgeSignal('http://127.0.0.1:9/v1', { retries: 0, timeoutMs: 2000 }),
      /cannot reach the judge/,
    );
  });
});
