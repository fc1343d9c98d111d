import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { AdamW } from '../engine/optim.js';
import { RNG } from '../engine/rng.js';
import { Parameter, Tensor } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import { presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { linearModule, project } from './linear.js';
import {
  LoraAdapter,
  attachLora,
  effectiveData,
  loraOf,
  loraParams,
  mergeLora,
  resolveTargets,
  setAdaptersEnabled,
  trainableParams,
  withAdaptersDisabled,
} from './lora.js';

const tinyModel = (seed = 3) => createModel(presetConfig('tiny', { vocabSize: 48, nPositions: 16 }), seed);
const tinyLlama = () =>
  createModel(
    {
      family: 'llama',
      vocabSize: 48,
      nPositions: 16,
      nEmbd: 32,
      nHead: 4,
      nKvHead: 2,
      nLayer: 2,
      intermediateSize: 48,
      layerNormEps: 1e-6,
      eosTokenId: 2,
    },
    3,
  );
const rand = (rng: RNG, n: number, s = 0.5) => Float32Array.from({ length: n }, () => s * rng.normal());
const ids = Int32Array.from([1, 7, 3, 9, 20, 4, 0, 11, 30, 2, 5, 6]);

function logits(model: CausalLM, B = 2, T = 6): Float32Array {
  const g = Graph.inference();
  const out = Float32Array.from(model.forward(g, ids, B, T).data);
  g.dispose();
  return out;
}

/** Gives every adapter a non-zero lora_B, as training would. */
function perturbAdapters(model: CausalLM, seed = 9): void {
  const rng = new RNG(seed);
  for (const p of loraParams(model)) p.data.set(rand(rng, p.size, 0.2));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A lone linear layer (in 5, out 4) in either layout, with an adapter of rank 3. */
function loneLinear(outIn: boolean, dropout = 0) {
  const rng = new RNG(outIn ? 1 : 2);
  const w = new Parameter('w', rand(rng, 20), outIn ? [4, 5] : [5, 4]);
  const b = new Parameter('b', rand(rng, 4), [4]);
  const lin = linearModule('layer', w, b, outIn);
  const ad = new LoraAdapter(lin, 3, 6, dropout, new RNG(4), new Int32Array([1, 0]));
  ad.B.data.set(rand(rng, ad.B.size));
  lin.adapter = ad;
  const x = new Tensor(rand(rng, 2 * 3 * 5), [2, 3, 5], true);
  return { lin, ad, x, w, b };
}

describe('LoRA linear', () => {
  for (const outIn of [true, false]) {
    const layout = outIn ? 'torch.nn.Linear (out, in)' : "GPT-2's Conv1D (in, out)";
    it(`passes a gradient check on ${layout}`, () => {
      const { lin, ad, x, w, b } = loneLinear(outIn);
      const r = gradCheck((g) => project(g, x, lin), [x, w, b, ad.A, ad.B]);
      assert.ok(r.checked > 0);
    });

    it(`merges into the ${layout} weight: the same outputs within 1e-5`, () => {
      const { lin, ad, x } = loneLinear(outIn);
      const g = Graph.inference();
      const withAdapter = Float32Array.from(project(g, x, lin).data);
      const d = ad.deltaWeight();
      for (let i = 0; i < d.length; i++) lin.weight.data[i] += d[i];
      lin.adapter = null;
      const merged = project(g, x, lin).data;
      g.dispose();
      assert.ok(maxDiff(withAdapter, merged) < 1e-5);
    });
  }

  it('drops input features while training only, and its gradients agree with finite differences', () => {
    const { lin, ad, x, w } = loneLinear(true, 0.5);
    // The same mask every time: the adapter's generator reseeded (as at a new step) before each forward.
    const run = (g: Graph) => {
      (ad as unknown as { rngStep: number }).rngStep = -1;
      return project(g, x, lin);
    };
    const weights = rand(new RNG(8), 24, 1);
    const lossOf = (g: Graph) => run(g).data.reduce((a, v, i) => a + v * weights[i], 0);
    const g = new Graph();
    const y = run(g);
    g.backwardFrom(y, weights);
    const dx = Float32Array.from(x.grad!),
      dA = Float32Array.from(ad.A.grad!);
    g.dispose();
    const numeric = (t: Tensor, i: number) => {
      const eps = 1e-2,
        v = t.data[i];
      t.data[i] = v + eps;
      const g1 = new Graph();
      const up = lossOf(g1);
      g1.dispose();
      t.data[i] = v - eps;
      const g2 = new Graph();
      const down = lossOf(g2);
      g2.dispose();
      t.data[i] = v;
      return (up - down) / (2 * eps);
    };
    for (let i = 0; i < x.size; i += 3) assert.ok(Math.abs(numeric(x, i) - dx[i]) < 2e-3, `dx[${i}]`);
    for (let i = 0; i < ad.A.size; i += 2) assert.ok(Math.abs(numeric(ad.A, i) - dA[i]) < 2e-3, `dA[${i}]`);
    // Some inputs were dropped (a recording graph), none at inference.
    const inf = Graph.inference();
    const clean = Float32Array.from(project(inf, x, lin).data);
    inf.dispose();
    const tr = new Graph();
    const dropped = Float32Array.from(run(tr).data);
    tr.dispose();
    assert.ok(maxDiff(clean, dropped) > 1e-3, 'dropout changed the training output');
    // The masks follow the training step (setLoraStep): another step, other masks; the same step, the same.
    const shared = (ad as unknown as { shared: Int32Array }).shared;
    const at = (step: number) => {
      shared[1] = step;
      const gr = new Graph();
      const out = Float32Array.from(project(gr, x, lin).data);
      gr.dispose();
      return out;
    };
    const s3 = at(3);
    assert.notDeepEqual(at(4), s3);
    assert.deepEqual(at(3), s3);
    assert.ok(w.grad === null || w.grad.length === w.size);
  });
});

describe('LoRA on a model', () => {
  it('a new adapter (B = 0) leaves the outputs exactly as the base model', () => {
    const model = tinyModel();
    const before = logits(model);
    attachLora(model, { rank: 4, alpha: 8, dropout: 0, targets: [] });
    assert.deepEqual(logits(model), before);
  });

  it('targets modules by suffix, by default c_attn on GPT-2, all-linear, and refuses a name that matches none', () => {
    const m = tinyModel();
    assert.deepEqual(
      resolveTargets(m, []).map((l) => l.name),
      ['transformer.h.0.attn.c_attn', 'transformer.h.1.attn.c_attn'],
    );
    assert.equal(resolveTargets(m, ['c_proj']).length, 4, 'attn.c_proj and mlp.c_proj of each layer');
    assert.equal(resolveTargets(m, ['mlp.c_proj']).length, 2);
    assert.equal(resolveTargets(m, 'all-linear').length, 8);
    assert.equal(resolveTargets(m, ['all-linear']).length, 8);
    assert.equal(resolveTargets(m, '.*\\.0\\.mlp\\..*').length, 2, 'a regular expression, as PEFT takes a string');
    assert.throws(
      () => resolveTargets(m, ['c_attn', 'q_proj']),
      /"q_proj" matches no module of this gpt2 model; modules here: c_attn, c_proj, c_fc \(e\.g\. transformer\.h\.0\./,
    );
  });

  it('freezes the base: only the adapters get gradients and change; the base stays bit-identical', () => {
    const model = tinyModel();
    const base = model.params.map((p) => Float32Array.from(p.data));
    attachLora(model, { rank: 2, alpha: 4, dropout: 0, targets: 'all-linear' });
    assert.ok(
      model.params.every((p) => !p.requiresGrad && p.grad === null),
      'frozen, without gradient buffers',
    );
    const params = trainableParams(model);
    assert.equal(params.length, 16, 'lora_A and lora_B of 8 modules');
    assert.ok(params[0].name.endsWith('transformer.h.0.attn.c_attn.lora_A.weight'));
    const before = params.map((p) => Float32Array.from(p.data));
    const opt = new AdamW(params, { lr: 1e-2, weightDecay: 0 });
    const targets = Int32Array.from(ids, (_, i) => ids[(i + 1) % ids.length]);
    for (let step = 0; step < 2; step++) {
      opt.zeroGrad();
      const g = new Graph();
      g.backward(model.loss(g, ids, targets, 2, 6));
      g.dispose();
      opt.update();
    }
    model.params.forEach((p, i) => {
      assert.deepEqual(p.data, base[i], `${p.name} unchanged`);
      assert.equal(p.grad, null, `${p.name} has no gradient buffer`);
    });
    params.forEach((p, i) => assert.ok(maxDiff(p.data, before[i]) > 0, `${p.name} trained`));
  });

  for (const family of ['gpt2', 'llama'] as const) {
    it(`${family}: with the adapters off, the base model; merged, the adapted model within 1e-5`, () => {
      const model = family === 'gpt2' ? tinyModel() : tinyLlama();
      const base = logits(model);
      attachLora(model, {
        rank: 3,
        alpha: 6,
        dropout: 0.1,
        targets: family === 'gpt2' ? ['c_attn', 'c_fc'] : ['q_proj', 'down_proj'],
      });
      perturbAdapters(model);
      const adapted = logits(model);
      assert.ok(maxDiff(adapted, base) > 1e-3, 'the adapters change the outputs');
      assert.deepEqual(
        withAdaptersDisabled(model, () => logits(model)),
        base,
      );
      setAdaptersEnabled(model, false);
      assert.deepEqual(logits(model), base);
      setAdaptersEnabled(model, true);
      assert.deepEqual(logits(model), adapted);
      mergeLora(model);
      assert.equal(loraOf(model), null);
      assert.ok(model.linears.every((l) => l.adapter === null));
      assert.ok(
        model.params.every((p) => p.requiresGrad),
        'trainable again',
      );
      assert.ok(maxDiff(logits(model), adapted) < 1e-5);
    });
  }

  it("llama: the logits' gradients with respect to every adapter weight pass a gradient check", () => {
    const model = tinyLlama();
    attachLora(model, { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] });
    perturbAdapters(model);
    const r = gradCheck((g) => model.forward(g, ids.subarray(0, 5), 1, 5), loraParams(model));
    assert.equal(
      r.checked,
      loraParams(model).reduce((a, p) => a + p.size, 0),
    );
  });

  it('effectiveData gives the weights the adapted model computes with (what ReST sends a remote server)', () => {
    const model = tinyModel();
    attachLora(model, { rank: 2, alpha: 4, dropout: 0, targets: 'all-linear' });
    perturbAdapters(model);
    const plain = tinyModel(99);
    model.params.forEach((p, i) => plain.params[i].data.set(effectiveData(model, p)));
    assert.ok(maxDiff(logits(plain), logits(model)) < 1e-5);
    assert.equal(effectiveData(model, model.params[0]), model.params[0].data, 'an unadapted parameter as it is');
  });

  it('refuses a second attach and bad settings, naming them', () => {
    const model = tinyModel();
    assert.throws(() => attachLora(model, { rank: 0, alpha: 8, dropout: 0, targets: [] }), /rank must be a positive/);
    assert.throws(() => attachLora(model, { rank: 2, alpha: 8, dropout: 1, targets: [] }), /dropout must be in/);
    attachLora(model, { rank: 2, alpha: 8, dropout: 0, targets: [] });
    assert.throws(() => attachLora(model, { rank: 2, alpha: 8, dropout: 0, targets: [] }), /already has LoRA/);
  });
});
