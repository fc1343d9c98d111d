// The model against PyTorch: logits, loss, every gradient, one AdamW step, and the reward head,
// from fixtures made by tests/fixtures/make_golden.py (float64 PyTorch, saved as float32).

import { describe, it } from 'node:test';
import { assertAllClose } from '../test-support/assert-close.js';
import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { loadCheckpoint } from './checkpoint.js';
import { rewardHead } from './heads.js';
import { readSafetensors, readSafetensorsF32 } from './safetensors.js';

const DIR = 'tests/fixtures/golden/tiny-gpt2';

/** Entries within atol + rtol·|PyTorch's value| of PyTorch's. */
function closeTo(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): void {
  assertAllClose(got, want, { rtol, atol }, name);
}

function golden(file: string) {
  const raw = readSafetensors(`${DIR}/${file}`).tensors;
  const f32 = readSafetensorsF32(`${DIR}/${file}`).tensors;
  const ints = (k: string) => Int32Array.from(raw.get(k)!.data as Int32Array);
  return { ints, f32: (k: string) => f32.get(k)!.data, has: (k: string) => f32.has(k) };
}

describe('GPT-2 against PyTorch golden values', () => {
  it('logits, loss, gradients of every parameter, and one clipped AdamW step', () => {
    const { model } = loadCheckpoint(DIR);
    const gd = golden('golden.safetensors');
    const ids = gd.ints('input_ids'),
      targets = gd.ints('targets');
    const B = 3,
      T = ids.length / B;
    const g = new Graph();
    const logits = model.forward(g, ids, B, T);
    closeTo('logits', logits.data, gd.f32('logits'));
    const loss = ops.crossEntropy(g, logits, targets);
    closeTo('loss', [loss.item()], gd.f32('loss'), 1e-5);
    g.backward(loss);
    g.dispose();
    for (const p of model.params) closeTo(`grad of ${p.name}`, p.grad!, gd.f32(`grad.${p.name}`), 1e-3, 1e-5);

    const norm = clipGradNorm(model.params, 1.0);
    closeTo('grad norm', [norm], gd.f32('grad_norm'), 1e-4);
    const opt = new AdamW(model.params, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    opt.update();
    // NOTE: where the gradient is ~0 (the key bias: adding a constant to every score of a row
    // changes nothing), Adam's first step g/(|g|+eps) is the ratio of two rounding errors; there
    // the float32 and float64 results legitimately differ, so those elements are left out.
    for (const p of model.params) {
      const want = gd.f32(`after_adamw.${p.name}`),
        grad = gd.f32(`grad.${p.name}`);
      const keep = Array.from(grad.keys()).filter((i) => Math.abs(grad[i]) > 1e-6);
      closeTo(
        `${p.name} after AdamW`,
        keep.map((i) => p.data[i]),
        keep.map((i) => want[i]),
        1e-4,
        2e-5,
      );
    }
  });

  it('reward head read at the last token, and its gradients', () => {
    const { model } = loadCheckpoint(DIR);
    const gd = golden('golden.safetensors');
    const gr = golden('golden_reward.safetensors');
    const ids = gd.ints('input_ids');
    const B = 3,
      T = ids.length / B;
    const head = rewardHead(model.config.nEmbd);
    head.weight.data.set(gr.f32('score.weight'));
    const g = new Graph();
    const h = model.hidden(g, ids, B, T);
    const last = ops.selectRows(g, h, [T - 1, 2 * T - 1, 3 * T - 1]);
    const r = head.forward(g, last);
    closeTo('reward', r.data, gr.f32('reward'));
    g.backward(ops.dot(g, r, [0.3, -1.2, 0.7]));
    g.dispose();
    closeTo('grad of score.weight', head.weight.grad!, gr.f32('grad.score.weight'), 1e-3);
    for (const p of model.params)
      closeTo(`reward grad of ${p.name}`, p.grad!, gr.f32(`reward_grad.${p.name}`), 1e-3, 1e-5);
  });
});
