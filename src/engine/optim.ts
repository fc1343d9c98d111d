// ---- AdamW, gradient clipping, learning-rate schedule ----

import { Parameter } from './tensor.js';

export interface AdamWConfig {
  /** Peak learning rate (the schedule scales it per step). */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (Loshchilov & Hutter), applied only to parameters with ≥ 2 dimensions. */
  weightDecay: number;
}

export const defaultAdamW: AdamWConfig = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export class AdamW {
  readonly config: AdamWConfig;
  /** Number of steps taken (bias correction uses it). */
  step = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  constructor(
    readonly params: Parameter[],
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = { ...defaultAdamW, ...config };
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    if (!(lr >= 0)) throw new Error(`AdamW: lr must be ≥ 0, got ${lr}`);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      throw new Error(`AdamW: betas must be in [0, 1), got (${beta1}, ${beta2})`);
    if (!(eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${weightDecay}`);
    const frozen = params.find((p) => !p.requiresGrad);
    if (frozen)
      throw new Error(`AdamW: parameter ${frozen.name} is frozen (requiresGrad false); give only trainable parameters`);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  /** One update with learning rate lr (defaults to config.lr), using each parameter's .grad. */
  update(lr = this.config.lr): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const stepSize = lr / bc1;
    const invSqrtBc2 = 1 / Math.sqrt(bc2);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k],
        w = p.data,
        // A parameter that no backward pass has reached yet has a zero gradient.
        gr = p.grad ?? (p.grad = new Float32Array(p.size)),
        m = this.m[k],
        v = this.v[k];
      p.version++;
      const decay = p.shape.length >= 2 ? 1 - lr * weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = gr[i];
        const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
        const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
        w[i] = w[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}

/** Scales all gradients so that their global L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(params: Parameter[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) {
    const gr = p.grad;
    if (gr) for (let i = 0; i < gr.length; i++) ss += gr[i] * gr[i];
  }
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    // NOTE: torch adds 1e-6 to the norm; match it so runs agree with PyTorch to float precision.
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const gr = p.grad;
      if (gr) for (let i = 0; i < gr.length; i++) gr[i] *= s;
    }
  }
  return norm;
}

export interface ScheduleConfig {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from 0 to lr. */
  warmupSteps: number;
  /** Total steps; after warm-up the rate follows a cosine from lr down to minLr at this step. */
  totalSteps: number;
  /** Final learning rate (default lr / 10). */
  minLr?: number;
}

/** Learning rate at a 0-based step: linear warm-up, then cosine decay. */
export function learningRate(step: number, s: ScheduleConfig): number {
  const minLr = s.minLr ?? s.lr / 10;
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return minLr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = (step - s.warmupSteps) / span;
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
