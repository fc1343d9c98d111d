// ---- AdamW, gradient clipping, learning-rate schedule ----

import { NO_REPLICA, WorkerPool, defineKernel } from './parallel.js';
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
    // Shared memory, so that worker threads can take a share of the update (adamwRange).
    this.m = params.map((p) => new Float32Array(new SharedArrayBuffer(p.size * 4)));
    this.v = params.map((p) => new Float32Array(new SharedArrayBuffer(p.size * 4)));
  }

  /** One update with learning rate lr (defaults to config.lr), using each parameter's .grad. */
  update(lr = this.config.lr): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const job: Omit<AdamWJob, 'parts'> = { beta1, beta2, eps, stepSize: lr / bc1, invSqrtBc2: 1 / Math.sqrt(bc2) };
    const parts: AdamWPart<Float32Array>[] = this.params.map((p, k) => {
      p.version++;
      // A parameter that no backward pass has reached yet has a zero gradient.
      const g = p.grad ?? (p.grad = new Float32Array(p.size));
      const decay = p.shape.length >= 2 ? 1 - lr * weightDecay : 1;
      return { w: p.data, g, m: this.m[k], v: this.v[k], from: 0, to: p.size, decay };
    });
    const total = parts.reduce((a, q) => a + q.to, 0);
    const shared = total >= PARALLEL_MIN && parts.every((q) => [q.w, q.g, q.m, q.v].every(wholeShared));
    const pool = shared ? WorkerPool.get() : null;
    if (!pool) {
      adamwParts(parts, job);
      return;
    }
    // Element-wise, so any split gives the same weights as one thread: contiguous shares of the elements.
    const shares = splitParts(parts, pool.size + 1);
    for (let w = 0; w < pool.size; w++) {
      const sent = shares[w + 1].map((q) => ({ ...q, w: buf(q.w), g: buf(q.g), m: buf(q.m), v: buf(q.v) }));
      pool.start(w, adamwKernel, NO_REPLICA, { ...job, parts: sent });
    }
    adamwParts(shares[0], job);
    for (let w = 0; w < pool.size; w++) pool.wait(w);
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}

/** Elements below which the update stays on the calling thread. */
const PARALLEL_MIN = 1 << 20;

/** Elements [from, to) of one parameter: its weights, gradient and moments, and its weight-decay factor. */
interface AdamWPart<A> {
  w: A;
  g: A;
  m: A;
  v: A;
  from: number;
  to: number;
  decay: number;
}

/** One share of an AdamW update, as sent to a worker thread (buffers shared, not copied). */
export interface AdamWJob {
  parts: AdamWPart<SharedArrayBuffer>[];
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  invSqrtBc2: number;
}

const wholeShared = (a: Float32Array) =>
  a.buffer instanceof SharedArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
const buf = (a: Float32Array) => a.buffer as SharedArrayBuffer;

function adamwParts(parts: AdamWPart<Float32Array>[], o: Omit<AdamWJob, 'parts'>): void {
  const { beta1, beta2, eps, stepSize, invSqrtBc2 } = o;
  for (const { w, g, m, v, from, to, decay } of parts) {
    for (let i = from; i < to; i++) {
      const gi = g[i];
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
      w[i] = w[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
    }
  }
}

/** A worker thread's share of an AdamW update (the kernel of AdamW.update). */
export function adamwRange(_replica: unknown, job: AdamWJob): number {
  const view = (b: SharedArrayBuffer) => new Float32Array(b);
  adamwParts(
    job.parts.map((q) => ({ ...q, w: view(q.w), g: view(q.g), m: view(q.m), v: view(q.v) })),
    job,
  );
  return 0;
}

const adamwKernel = defineKernel(import.meta.url, { adamwRange });

/** The parts cut into `n` contiguous shares of (nearly) equal numbers of elements. */
function splitParts<A>(parts: AdamWPart<A>[], n: number): AdamWPart<A>[][] {
  const total = parts.reduce((a, q) => a + (q.to - q.from), 0);
  const per = Math.ceil(total / n);
  const shares: AdamWPart<A>[][] = Array.from({ length: n }, () => []);
  let s = 0,
    room = per;
  for (const q of parts) {
    let from = q.from;
    while (from < q.to) {
      if (room === 0 && s < n - 1) {
        s++;
        room = per;
      }
      const to = s === n - 1 ? q.to : Math.min(q.to, from + room);
      shares[s].push({ ...q, from, to });
      room -= to - from;
      from = to;
    }
  }
  return shares;
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
