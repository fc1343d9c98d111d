// Finite-difference gradient check, used by the tests of every op and of the model.

import { Graph } from './graph.js';
import { dot } from './ops/elementwise.js';
import { RNG } from './rng.js';
import { Tensor } from './tensor.js';

export interface GradCheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradCheckResult {
  maxAbsError: number;
  worst: string;
  checked: number;
}

/**
 * Compares the autograd gradient of L = Σ wᵢ·outᵢ (random fixed w) with central differences,
 * for every element of every input that requires gradients. Throws on a mismatch.
 */
export function gradCheck(fn: (g: Graph) => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): GradCheckResult {
  const { eps = 3e-3, atol = 2e-3, rtol = 2e-2, seed = 1 } = opts;
  const rng = new RNG(seed);
  let weights: Float32Array | null = null;
  const lossOf = (g: Graph): Tensor => {
    const out = fn(g);
    if (!weights) weights = rng.fillNormal(new Float32Array(out.size));
    return dot(g, out, weights);
  };

  for (const t of inputs) t.grad = null;
  const g = new Graph();
  const loss = lossOf(g);
  g.backward(loss);
  const analytic = inputs.map((t) => (t.grad ? Float32Array.from(t.grad) : new Float32Array(t.size)));
  g.dispose();

  let maxAbsError = 0,
    worst = '',
    checked = 0;
  inputs.forEach((t, k) => {
    if (!t.requiresGrad) return;
    for (let i = 0; i < t.size; i++) {
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const up = evalLoss(lossOf);
      t.data[i] = orig - eps;
      const down = evalLoss(lossOf);
      t.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const a = analytic[k][i];
      const err = Math.abs(a - numeric);
      checked++;
      if (err > maxAbsError) {
        maxAbsError = err;
        worst = `input ${k} element ${i}: autograd ${a}, finite difference ${numeric}`;
      }
      if (err > atol + rtol * Math.max(Math.abs(a), Math.abs(numeric))) {
        throw new Error(
          `gradCheck failed at ${`input ${k} element ${i}`}: autograd ${a}, finite difference ${numeric}`,
        );
      }
    }
  });
  for (const t of inputs) t.grad = null;
  return { maxAbsError, worst, checked };
}

function evalLoss(lossOf: (g: Graph) => Tensor): number {
  const g = Graph.inference();
  const v = lossOf(g).item();
  g.dispose();
  return v;
}
