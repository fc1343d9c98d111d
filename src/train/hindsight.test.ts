import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { IGNORE_INDEX } from '../engine/ops/loss.js';
import { Comparison } from '../data/comparison.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { generate } from '../runtime/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import {
  HindsightChoice,
  bestAndWorst,
  defaultHindsightConfig,
  defaultHindsightTemplates as tpl,
  hindsightBatch,
  hindsightChoice,
  hindsightPrompt,
  hindsightSegments,
  hindsightSequence,
  hindsightSource,
  trainHindsight,
  validateHindsightTemplates,
} from './hindsight.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';

const tok = Tokenizer.train(['Q: what is it? A good answer: x y A worse answer: z Feedback: too short', 'a b c d e'], {
  vocabSize: 280,
});
const cmp: Comparison = { prompt: 'Q: what is it?', completions: [' z', ' x y', ' w'], ranking: [1, 2, 0] };
const split = (s: { tokens: number[]; output: boolean[] }) => ({
  out: tok.decode(s.tokens.filter((_, i) => s.output[i] && s.tokens[i] !== tok.eosId)),
  masked: tok.decode(s.tokens.filter((_, i) => !s.output[i])),
});

describe('Chain of Hindsight: sequences', () => {
  const first: HindsightChoice = { betterFirst: true, positive: 0, negative: 0 };

  it('pairs the best and worst outputs with phrases; the loss is on the outputs and the final end-of-text only', () => {
    const s = hindsightSequence(cmp, first, tok, tpl, 1000);
    assert.equal(tok.decode(s.tokens.slice(0, -1)), 'Q: what is it? A good answer: x y A worse answer: z');
    assert.equal(s.tokens.at(-1), tok.eosId);
    assert.equal(s.output.at(-1), true);
    // best = completions[1], worst = completions[0] (the last of the ranking); the middle one is unused
    assert.deepEqual(split(s), { out: ' x y z', masked: 'Q: what is it? A good answer: A worse answer:' });
    // in the batch, position t predicts t+1: a target wherever the next token is an output token, −100 elsewhere
    const b = hindsightBatch([s], 64, tok.eosId);
    const scored: number[] = [];
    for (let t = 0; t < b.T; t++) if (b.targets[t] !== IGNORE_INDEX) scored.push(b.targets[t]);
    assert.deepEqual(
      scored,
      s.tokens.filter((_, i) => s.output[i]),
    );
    assert.equal(b.tokens, scored.length);
    for (let t = 0; t + 1 < s.tokens.length; t++) assert.equal(b.ids[t], s.tokens[t]);
  });

  it('the other order and other phrasings', () => {
    const s = hindsightSequence(cmp, { betterFirst: false, positive: 1, negative: 1 }, tok, tpl, 1000);
    assert.equal(tok.decode(s.tokens.slice(0, -1)), 'Q: what is it? A less helpful answer: z A helpful answer: x y');
    assert.deepEqual(split(s), { out: ' z x y', masked: 'Q: what is it? A less helpful answer: A helpful answer:' });
  });

  it('puts written feedback before the negative phrase, without loss', () => {
    const c = { ...cmp, feedback: 'too short' };
    for (const betterFirst of [true, false]) {
      const s = hindsightSequence(c, { ...first, betterFirst }, tok, tpl, 1000);
      const text = tok.decode(s.tokens.slice(0, -1));
      assert.ok(text.includes(' Feedback: too short A worse answer: z'), text);
      assert.equal(split(s).out, betterFirst ? ' x y z' : ' z x y');
      assert.ok(split(s).masked.includes('Feedback: too short'));
    }
  });

  it('the prompt and phrase tokenize as hindsightPrompt does at generation time', () => {
    assert.equal(hindsightPrompt('Q: what is it?', tpl), 'Q: what is it? A good answer:');
    const s = hindsightSequence(cmp, first, tok, tpl, 1000);
    const p = tok.encode(hindsightPrompt(cmp.prompt, tpl));
    assert.deepEqual(s.tokens.slice(0, p.length), p);
    assert.equal(s.output[p.length], true);
  });

  it('too long: the prompt is cut from its start first, the phrase stays', () => {
    const c = { ...cmp, prompt: 'Q: what is it? '.repeat(20) + 'Q: what is it?' };
    const full = hindsightSequence(c, first, tok, tpl, 1000);
    const s = hindsightSequence(c, first, tok, tpl, 40);
    assert.equal(s.tokens.length, 40);
    assert.deepEqual(s.tokens, full.tokens.slice(full.tokens.length - 40));
    assert.ok(tok.decode(s.tokens).includes('A good answer: x y A worse answer: z'));
  });

  it('random order and phrases are a function of (seed, epoch, index): deterministic, and every choice occurs', () => {
    const cs = Array.from({ length: 200 }, (_, i) => hindsightChoice(7, 0, i, tpl));
    assert.deepEqual(
      cs,
      Array.from({ length: 200 }, (_, i) => hindsightChoice(7, 0, i, tpl)),
    );
    assert.ok(cs.some((c) => c.betterFirst) && cs.some((c) => !c.betterFirst), 'both orders occur');
    assert.deepEqual(new Set(cs.map((c) => c.positive)), new Set([0, 1]));
    assert.deepEqual(new Set(cs.map((c) => c.negative)), new Set([0, 1]));
    const frac = cs.filter((c) => c.betterFirst).length / cs.length;
    assert.ok(frac > 0.35 && frac < 0.65, `better first ${frac}`);
    assert.notDeepEqual(
      cs,
      Array.from({ length: 200 }, (_, i) => hindsightChoice(8, 0, i, tpl)),
      'another seed, other choices',
    );
    assert.notDeepEqual(
      cs,
      Array.from({ length: 200 }, (_, i) => hindsightChoice(7, 1, i, tpl)),
      'another epoch, other choices',
    );
    // a step's batch is the same from a fresh source (what resuming relies on), in any order of calls
    const comps = Array.from({ length: 10 }, (_, i) => ({ ...cmp, prompt: `Q${i}:` }));
    const a = hindsightSource(comps, tok, tpl, 64, 3),
      b = hindsightSource(comps, tok, tpl, 64, 3);
    const rng = new RNG(0);
    const late = a.sample(rng, 4, 7);
    b.sample(rng, 4, 0);
    assert.deepEqual(b.sample(rng, 4, 7), late);
  });

  it('betterFirstShare sets the share of better-first sequences (1: always; 0: never) and keeps the phrases', () => {
    const at = (share: number) => Array.from({ length: 200 }, (_, i) => hindsightChoice(7, 0, i, tpl, share));
    assert.ok(at(1).every((c) => c.betterFirst));
    assert.ok(at(0).every((c) => !c.betterFirst));
    assert.deepEqual(
      at(0.5),
      Array.from({ length: 200 }, (_, i) => hindsightChoice(7, 0, i, tpl)),
      '0.5 is the default',
    );
    assert.deepEqual(
      at(1).map((c) => [c.positive, c.negative]),
      at(0.5).map((c) => [c.positive, c.negative]),
    );
    // With share 1, every sequence's first output is the better one, right after the prompt and a positive phrase.
    for (const c of at(1).slice(0, 20)) {
      const segs = hindsightSegments(cmp, c, tpl);
      assert.ok(
        tpl.positive.some((p) => segs[0].text === cmp.prompt + tpl.separator + p),
        segs[0].text,
      );
      assert.equal(segs[1].text, bestAndWorst(cmp).better);
    }
  });

  it('rejects empty lists, empty phrases and a phrase on both sides', () => {
    assert.throws(() => validateHindsightTemplates({ ...tpl, positive: [] }), /positive/);
    assert.throws(() => validateHindsightTemplates({ ...tpl, negative: [' '] }), /negative\[0\]/);
    assert.throws(() => validateHindsightTemplates({ ...tpl, negative: ['A good answer:'] }), /both contain/);
  });
});

describe('Chain of Hindsight: training', () => {
  it('conditions on the phrase: the positive phrase gives more "a" than the negative one', () => {
    // A policy that writes random letters a–e (the quick SFT of dpo.test.ts), whose text also holds
    // the phrases now and then, unrelated to the letters: like a pretrained model, it knows the words
    // (its tokenizer has them as tokens) but not what they should mean for the output.
    // NOTE: without them, "A good answer:" is a dozen never-seen byte tokens to this 40k-parameter
    // model, and whether it learns to condition on them within a few epochs depends on the seed.
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-coh-'));
    const rng = new RNG(2);
    const phrases = [...tpl.positive, ...tpl.negative];
    writeFileSync(
      join(dir, 'letters.txt'),
      Array.from({ length: 3000 }, (_, i) => (i % 8 === 7 ? phrases[rng.int(4)] + ' ' : '') + 'abcde'[rng.int(5)]).join(
        ' ',
      ),
    );
    trainSFT(
      {
        ...defaultSFTConfig,
        data: join(dir, 'letters.txt'),
        outDir: join(dir, 'sft'),
        preset: 'tiny',
        vocabSize: 262,
        contextLength: 32,
        batchSize: 16,
        steps: 60,
        lr: 1e-2,
        warmupSteps: 5,
        evalEvery: 0,
        quiet: true,
      },
      () => {},
    );
    const { model, tokenizer } = loadCheckpoint(join(dir, 'sft'));
    const tk = tokenizer!;
    const letters = (n: number, pA: number) =>
      Array.from({ length: n }, () => ' ' + (rng.uniform() < pA ? 'a' : 'bcde'[rng.int(4)])).join('');
    const prompts = [' b', ' c', ' d e', ' e', ' b c'];
    const comps: Comparison[] = Array.from({ length: 160 }, (_, i) => ({
      prompt: prompts[i % 5],
      completions: [letters(4, 0.8), letters(4, 0)],
      ranking: [0, 1],
    }));
    const cfg = {
      ...defaultHindsightConfig,
      outDir: join(dir, 'coh'),
      epochs: 4,
      batchSize: 16,
      lr: 1e-2,
      warmupSteps: 2,
      evalEvery: 0,
      quiet: true,
    };
    const r = trainHindsight(model, tk, comps.slice(0, 140), comps.slice(140), cfg, () => {});
    const countA = (phrase: string) => {
      const gens = generate(
        model,
        Array.from({ length: 40 }, (_, i) => tk.encode(prompts[i % 5] + ' ' + phrase)),
        { maxNewTokens: 4, seed: 9, vocabSize: tk.vocabSize, stopTokens: [tk.eosId] },
      );
      return gens.reduce((a, g) => a + (tk.decode(g.tokens).match(/a/g) ?? []).length, 0) / 40;
    };
    const good = countA(tpl.positive[0]),
      bad = countA(tpl.negative[0]);
    assert.ok(good > bad + 2, `"a" per sample: positive phrase ${good}, negative ${bad}`);
    assert.ok(r.finalLoss < r.firstLoss, `loss ${r.firstLoss} → ${r.finalLoss}`);
    assert.ok(r.eval['eval/hindsight/accuracy'] > 0.8, JSON.stringify(r.eval));
    assert.ok(Number.isFinite(r.eval['eval/loss']));
    assert.equal(r.promptSuffix, ' A good answer:');
    const meta = loadCheckpoint(cfg.outDir).meta;
    assert.equal(meta.trainer, 'hindsight');
    assert.deepEqual(meta.hindsight, { ...tpl, promptSuffix: ' A good answer:' });
  });

  it('a resumed run equals an uninterrupted one', () => {
    const t = Tokenizer.train(['a b c d e A good answer: A worse answer:'], { vocabSize: 262 });
    const fresh = () => createModel(presetConfig('tiny', { vocabSize: 320, eosTokenId: t.eosId }), 1);
    const comps: Comparison[] = Array.from({ length: 12 }, (_, i) => ({
      prompt: ' b',
      completions: [' a a', ` c ${'de'[i % 2]}`],
      ranking: [0, 1],
      feedback: i % 3 ? undefined : 'no a',
    }));
    const base = {
      ...defaultHindsightConfig,
      steps: 6,
      batchSize: 4,
      lr: 1e-2,
      warmupSteps: 1,
      evalEvery: 0,
      quiet: true,
    };
    const whole = fresh();
    trainHindsight(whole, t, comps, [], { ...base, outDir: mkdtempSync(join(tmpdir(), 'rlhf-coh-a-')) }, () => {});
    const out = mkdtempSync(join(tmpdir(), 'rlhf-coh-b-'));
    trainHindsight(fresh(), t, comps, [], { ...base, outDir: out, stopAfter: 3 }, () => {});
    const resumed = loadCheckpoint(out).model;
    const r = trainHindsight(resumed, t, comps, [], { ...base, outDir: out, resume: true }, () => {});
    assert.equal(r.startStep, 3);
    resumed.params.forEach((p, i) => assert.deepEqual(p.data, whole.params[i].data, p.name));
  });
});
