// The model server driven by the official `openai` npm client, as users drive it: completions and
// chat completions, streamed and not, on a tiny random model with a ChatML template written here.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import type { ChatFormatter, ChatMessage } from './chat-api.js';
import { buildModelServer } from './model-server.js';

const tok = Tokenizer.train(['the cat sat on the mat. a dog ran. ab ba abc cab'], {
  vocabSize: 272,
  specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
});
const config = presetConfig('tiny', { vocabSize: 272, nPositions: 64, eosTokenId: tok.eosId });

/** ChatML, the template of Qwen and SmolLM2-Instruct, as a minimal ChatFormatter. */
function chatml(endOfTurn = ['<|im_end|>']): ChatFormatter {
  return {
    render: (messages: ChatMessage[], o: { addGenerationPrompt: boolean }) =>
      messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
      (o.addGenerationPrompt ? '<|im_start|>assistant\n' : ''),
    endOfTurn,
  };
}

const messages = [
  { role: 'system' as const, content: 'be a cat' },
  { role: 'user' as const, content: 'the dog?' },
];

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

/** Per choice index: the concatenated texts, and the finish reasons seen. */
function joinChoices(
  chunks: { choices: { index: number; finish_reason: string | null }[] }[],
  text: (c: any) => string,
) {
  const texts: string[] = [],
    finishes: string[][] = [];
  for (const ch of chunks)
    for (const c of ch.choices) {
      texts[c.index] = (texts[c.index] ?? '') + (text(c) ?? '');
      finishes[c.index] ??= [];
      if (c.finish_reason) finishes[c.index].push(c.finish_reason);
    }
  return { texts, finishes };
}

describe('serve-model with the openai client: streaming completions', () => {
  const batches: [number, number][] = [];
  let app: FastifyInstance, client: OpenAI;
  before(async () => {
    app = buildModelServer(createModel(config, 5), tok, {
      name: 'tiny',
      chat: chatml(),
      onBatch: (r, c) => batches.push([r, c]),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(() => app.close());

  it('streams text_completion chunks that join to the non-streamed answer, for 2 prompts × n=2', async () => {
    const body = { model: 'tiny', prompt: ['the cat', 'a dog'], n: 2, max_tokens: 12, seed: 7, top_p: 0.9 };
    const whole = await client.completions.create(body);
    const chunks = await collect(await client.completions.create({ ...body, stream: true }));
    assert.ok(chunks.length > 4, 'the text comes in pieces');
    for (const c of chunks) {
      assert.equal(c.object, 'text_completion');
      assert.equal(c.choices.length, 1, 'one choice per chunk');
    }
    const { texts, finishes } = joinChoices(chunks, (c) => c.text);
    assert.deepEqual(
      texts,
      whole.choices.map((c) => c.text),
    );
    assert.deepEqual(
      finishes,
      whole.choices.map((c) => [c.finish_reason]),
      'each choice finishes once, as without streaming',
    );
  });

  it('streamed logprobs are the non-streamed ones, token for token', async () => {
    const body = { model: 'tiny', prompt: 'the', max_tokens: 8, seed: 3, logprobs: 2 };
    const whole = (await client.completions.create(body)).choices[0].logprobs!;
    const chunks = await collect(await client.completions.create({ ...body, stream: true }));
    const lps = chunks.flatMap((c) => (c.choices[0]?.logprobs ? [c.choices[0].logprobs] : []));
    assert.deepEqual(
      lps.flatMap((l) => l.tokens!),
      whole.tokens,
    );
    assert.deepEqual(
      lps.flatMap((l) => l.text_offset!),
      whole.text_offset,
    );
    const streamed = lps.flatMap((l) => l.token_logprobs!);
    streamed.forEach((x, t) => assert.ok(Math.abs(x - whole.token_logprobs![t]) < 1e-4, `token ${t}`));
    for (const top of lps.flatMap((l) => l.top_logprobs!)) assert.equal(Object.keys(top).length <= 2, true);
  });

  it('include_usage: every chunk has usage null, and a last chunk with no choices has the usage', async () => {
    const body = { model: 'tiny', prompt: 'ab', n: 2, max_tokens: 6, seed: 1 };
    const whole = await client.completions.create(body);
    const chunks = await collect(
      await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }),
    );
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, whole.usage);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
  });
});

describe('serve-model with the openai client: chat completions', () => {
  const batches: [number, number][] = [];
  let app: FastifyInstance, client: OpenAI, url: string;
  before(async () => {
    app = buildModelServer(createModel(config, 5), tok, {
      name: 'tiny',
      chat: chatml(),
      onBatch: (r, c) => batches.push([r, c]),
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(() => app.close());

  it('answers a conversation as /v1/completions answers its ChatML prompt, ending at <|im_end|>', async () => {
    const settings = { max_tokens: 10, seed: 3, temperature: 0.8, top_p: 0.9, n: 2 };
    const chat = await client.chat.completions.create({ model: 'tiny', messages, ...settings });
    assert.equal(chat.object, 'chat.completion');
    assert.match(chat.id, /^chatcmpl-/);
    const prompt = tok.encode(chatml().render(messages, { addGenerationPrompt: true }), { allowSpecial: true });
    assert.equal(chat.usage!.prompt_tokens, prompt.length);
    const plain = await client.completions.create({ model: 'tiny', prompt, stop: ['<|im_end|>'], ...settings });
    assert.deepEqual(
      chat.choices.map((c) => [c.index, c.message.role, c.message.content, c.finish_reason]),
      plain.choices.map((c) => [c.index, 'assistant', c.text, c.finish_reason]),
    );
    // max_completion_tokens is max_tokens' newer name.
    const again = await client.chat.completions.create({
      model: 'tiny',
      messages,
      ...settings,
      max_tokens: undefined,
      max_completion_tokens: 10,
    });
    assert.deepEqual(
      again.choices.map((c) => c.message.content),
      chat.choices.map((c) => c.message.content),
    );
  });

  it('streams n=2: a role chunk, then content deltas per index, one finish each, then usage', async () => {
    const body = { model: 'tiny', messages, n: 2, max_tokens: 12, seed: 9 };
    const whole = await client.chat.completions.create(body);
    const chunks = await collect(
      await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }),
    );
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
    assert.deepEqual(
      chunks.slice(0, 2).map((c) => [c.choices[0].index, c.choices[0].delta]),
      [
        [0, { role: 'assistant', content: '' }],
        [1, { role: 'assistant', content: '' }],
      ],
    );
    const usage = chunks.pop()!;
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, whole.usage);
    const { texts, finishes } = joinChoices(chunks, (c) => c.delta.content);
    assert.deepEqual(
      texts,
      whole.choices.map((c) => c.message.content),
    );
    assert.deepEqual(
      finishes,
      whole.choices.map((c) => [c.finish_reason]),
    );
    assert.ok(
      chunks.some((c) => c.choices[0].index === 1) && chunks.filter((c) => c.choices[0].delta.content).length > 4,
    );
  });

  it('a stop string across a token boundary ends the text before it, and no chunk shows it', async () => {
    const body = { model: 'tiny', messages, max_tokens: 20, seed: 12, logprobs: true };
    const whole = (await client.chat.completions.create(body)).choices[0];
    const tokens = whole.logprobs!.content!.map((t) => t.token);
    // The last character of one token and the first of the next: a stop string no single token holds.
    const printable = (t: string | undefined) => !!t && /^[\x20-\x7e]+$/.test(t);
    const i = tokens.findIndex((t, k) => k > 1 && printable(t) && printable(tokens[k + 1]));
    assert.ok(i > 0, `the sampled text needs two printable tokens: ${JSON.stringify(tokens)}`);
    const stop = tokens[i].slice(-1) + tokens[i + 1][0];
    const cut = whole.message.content!.slice(0, whole.message.content!.indexOf(stop));
    const chunks = await collect(await client.chat.completions.create({ ...body, stop, stream: true }));
    const deltas = chunks.map((c) => c.choices[0]?.delta.content ?? '');
    assert.equal(deltas.join(''), cut);
    assert.ok(deltas.every((d) => !d.includes(stop)));
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'stop');
    // Without streaming, the same cut.
    const stopped = (await client.chat.completions.create({ ...body, stop })).choices[0];
    assert.equal(stopped.message.content, cut);
    assert.equal(stopped.finish_reason, 'stop');
  });

  it('the template\'s end of turn ends the message (finish "stop"), streamed or not', async () => {
    const seeded = { messages, max_tokens: 16, seed: 5 };
    const text = (await client.chat.completions.create({ model: 'tiny', ...seeded })).choices[0].message.content!;
    // Two characters of the sampled text whose first occurrence is not at its start.
    const at = [...Array(text.length - 1).keys()].find((k) => k > 1 && text.indexOf(text.slice(k, k + 2)) === k);
    assert.ok(at !== undefined, `sampled text ${JSON.stringify(text)}`);
    const eot = text.slice(at, at + 2);
    const other = buildModelServer(createModel(config, 5), tok, { name: 'tiny', chat: chatml([eot]) });
    const otherUrl = await other.listen({ port: 0, host: '127.0.0.1' });
    try {
      const c2 = new OpenAI({ baseURL: `${otherUrl}/v1`, apiKey: 'x', maxRetries: 0 });
      const r = (await c2.chat.completions.create({ model: 'tiny', ...seeded })).choices[0];
      assert.deepEqual([r.message.content, r.finish_reason], [text.slice(0, at), 'stop']);
      const final = await c2.chat.completions.stream({ model: 'tiny', ...seeded }).finalChatCompletion();
      assert.deepEqual([final.choices[0].message.content, final.choices[0].finish_reason], [r.message.content, 'stop']);
    } finally {
      await other.close();
    }
  });

  it('logprobs in the chat shape, the same streamed and not', async () => {
    const body = { model: 'tiny', messages, max_tokens: 8, seed: 4, logprobs: true, top_logprobs: 2 };
    const whole = (await client.chat.completions.create(body)).choices[0].logprobs!.content!;
    assert.equal(whole.length > 0, true);
    for (const t of whole) {
      assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.top_logprobs[0].logprob >= t.logprob - 1e-6, 'the best alternative is at least as likely');
    }
    const chunks = await collect(await client.chat.completions.create({ ...body, stream: true }));
    const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    assert.deepEqual(
      streamed.map((t) => t.token),
      whole.map((t) => t.token),
    );
    streamed.forEach((t, k) => assert.ok(Math.abs(t.logprob - whole[k].logprob) < 1e-4, `token ${k}`));
  });

  it('the stream() helper assembles the streamed message', async () => {
    const body = { model: 'tiny', messages, max_tokens: 10, seed: 2 };
    const whole = await client.chat.completions.create(body);
    const pieces: string[] = [];
    const runner = client.chat.completions.stream(body).on('content', (delta) => pieces.push(delta));
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
    assert.equal(pieces.join(''), whole.choices[0].message.content);
  });

  it("refuses malformed bodies with 400s in OpenAI's error shape, naming the field", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ messages: [] }, 'messages', /messages: must be a non-empty array/],
      [
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'robot', content: 'x' },
          ],
        },
        'messages[1].role',
        /messages\[1\]\.role: must be one of system, developer, user, assistant, got "robot"/,
      ],
      [{ messages: [{ role: 'user' }] }, 'messages[0].content', /messages\[0\]\.content: must be a string/],
      [
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
        'messages[0].content[0].type',
        /only "text" parts/,
      ],
      [{ messages, top_logprobs: 2 }, 'top_logprobs', /needs "logprobs": true/],
      [{ messages, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools', /not supported/],
      [{ messages, n: 0 }, 'n', /n: must be an integer in \[1, 256\], got 0/],
    ];
    for (const [body, param, message] of cases) {
      const err = await client.chat.completions.create({ model: 'tiny', ...body } as any).catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `${JSON.stringify(body)}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.param, param);
      assert.equal(err.type, 'invalid_request_error');
      assert.match(err.message, message);
    }
    // Text parts are joined; a model that is not served is a 404.
    const parts = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'the' }] }],
      max_tokens: 1,
    });
    assert.equal(parts.choices.length, 1);
    const notHere = await client.chat.completions.create({ model: 'gpt-4', messages }).catch((e) => e);
    assert.ok(notHere instanceof OpenAI.NotFoundError);
  });

  it('without a chat template, /v1/chat/completions is a 400 that says so', async () => {
    const plain = buildModelServer(createModel(config, 5), tok, { name: 'tiny' });
    const plainUrl = await plain.listen({ port: 0, host: '127.0.0.1' });
    try {
      const c = new OpenAI({ baseURL: `${plainUrl}/v1`, apiKey: 'x', maxRetries: 0 });
      const err = await c.chat.completions.create({ model: 'tiny', messages }).catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.match(err.message, /model has no chat template/);
    } finally {
      await plain.close();
    }
  });
});
