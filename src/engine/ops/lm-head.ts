// ---- the language-model head, fused with the log-softmax ----
// log p(target) under softmax(h · Wᵀ / temperature) without ever holding the (N, V) logits: rows go
// through in chunks, the forward keeps only each row's log-sum-exp, and the backward recomputes a
// chunk's logits to form its gradient. With V = 49k–152k, (N, V) float32 logits and their softmax and
// gradient copies are gigabytes for a batch of a few thousand tokens; a chunk is at most ~32 MB.
// The distribution is model/logits.ts policyLogits': columns at or above vocabSize hold MASKED_LOGIT.

import { gemm } from '../gemm.js';
import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';
import { MASKED_LOGIT, dot } from './elementwise.js';

export interface LMHeadOptions {
  /** Softmax temperature (> 0; default 1): the distribution is softmax(logits / temperature). */
  temperature?: number;
  /** Ids at or above this get no probability (default: all V rows of W). */
  vocabSize?: number;
  /** Rows per chunk (default: as many as keep a chunk's logits at about 32 MB). */
  chunkRows?: number;
  /** W is stored (C, V), logits = h · W, instead of (V, C) with logits = h · Wᵀ (the default). */
  transposedW?: boolean;
}

/** Floats of one chunk's logits by default (32 MB). */
const CHUNK_FLOATS = 8 << 20;

/**
 * log p(targets[i] | h_i) for each row: h (…, C) with N rows, W (V, C) as models store it (lm_head.weight,
 * or the tied embedding), targets (N). Returns (N). A negative target (-100) gives 0 and no gradient.
 * Equal to tokenLogProbs(policyLogits(h · Wᵀ)) without the (N, V) logits. dW is only formed when W
 * requires gradients (a frozen or LoRA base head skips that product).
 */
export function lmHeadLogProbs(g: Graph, h: Tensor, W: Tensor, targets: Int32Array, o: LMHeadOptions = {}): Tensor {
  return lmHead(g, h, W, targets, o, false).logp;
}

/**
 * lmHeadLogProbs and, in the same pass, the entropy −Σ p log p of each row's distribution (N); 0 on rows
 * with a negative target. Both outputs carry gradients (PPO's entropy bonus).
 */
export function lmHeadLogProbsAndEntropy(
  g: Graph,
  h: Tensor,
  W: Tensor,
  targets: Int32Array,
  o: LMHeadOptions = {},
): { logp: Tensor; entropy: Tensor } {
  const r = lmHead(g, h, W, targets, o, true);
  return { logp: r.logp, entropy: r.entropy! };
}

/**
 * Mean next-token cross-entropy over rows whose target is ≥ 0, through the head: crossEntropy(h · Wᵀ)'s
 * value and gradient without the (N, V) logits. With weights (N), Σ wᵢ·nllᵢ / Σ wᵢ. Returns a scalar.
 */
export function lmHeadCrossEntropy(
  g: Graph,
  h: Tensor,
  W: Tensor,
  targets: Int32Array,
  weights?: ArrayLike<number>,
  o: LMHeadOptions = {},
): Tensor {
  if (weights && weights.length !== targets.length)
    throw new Error(`lmHeadCrossEntropy: ${weights.length} weights for ${targets.length} rows`);
  let count = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) count += weights ? weights[i] : 1;
  // −Σ wᵢ·log pᵢ / Σ wᵢ; a row of weight 0 is left out of the head's work altogether.
  const coef = new Float64Array(targets.length);
  const used = Int32Array.from(targets, (t, i) => (t >= 0 && (weights ? weights[i] : 1) !== 0 ? t : -1));
  if (count !== 0)
    for (let i = 0; i < targets.length; i++) if (used[i] >= 0) coef[i] = -(weights ? weights[i] : 1) / count;
  return dot(g, lmHead(g, h, W, used, o, false).logp, coef);
}

/** Shapes and options, checked once: [N, C, V, keep, rows per chunk, 1/temperature]. */
function layout(h: Tensor, W: Tensor, targets: Int32Array, o: LMHeadOptions) {
  const C = h.shape[h.shape.length - 1];
  const N = h.size / C;
  const transposed = o.transposedW ?? false;
  if (W.shape.length !== 2 || W.shape[transposed ? 0 : 1] !== C)
    throw new Error(
      `lmHeadLogProbs: hidden states have ${C} features but W has shape [${W.shape.join(', ')}]` +
        (transposed ? ' (transposedW: expected (C, V))' : ' (expected (V, C))'),
    );
  if (targets.length !== N) throw new Error(`lmHeadLogProbs: ${targets.length} targets for ${N} rows of hidden states`);
  const V = W.shape[transposed ? 1 : 0];
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature)))
    throw new Error(`lmHeadLogProbs: temperature must be > 0, got ${temperature}`);
  const vocabSize = o.vocabSize ?? V;
  if (!(Number.isInteger(vocabSize) && vocabSize > 0))
    throw new Error(`lmHeadLogProbs: vocabSize must be a positive integer, got ${vocabSize}`);
  const chunk = o.chunkRows ?? Math.max(1, Math.floor(CHUNK_FLOATS / V));
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new Error(`lmHeadLogProbs: chunkRows must be a positive integer, got ${o.chunkRows}`);
  for (let i = 0; i < N; i++) {
    if (targets[i] >= V)
      throw new Error(`lmHeadLogProbs: target ${targets[i]} at row ${i} is outside the vocabulary [0, ${V})`);
  }
  return { N, C, V, keep: Math.min(vocabSize, V), chunk, s: 1 / temperature, transposed };
}

function lmHead(g: Graph, h: Tensor, W: Tensor, targets: Int32Array, o: LMHeadOptions, withEntropy: boolean) {
  const { N, C, V, keep, chunk, s, transposed } = layout(h, W, targets, o);
  const logp = g.output([N], h, W);
  const entropy = withEntropy ? g.output([N], h, W) : null;
  logp.data.fill(0);
  entropy?.data.fill(0);
  // Only rows with a target are computed: prompt tokens cost nothing.
  const rows: number[] = [];
  for (let i = 0; i < N; i++) if (targets[i] >= 0) rows.push(i);
  const n = rows.length;
  const lse = new Float64Array(n);
  const blas = gemm();
  const wd = W.data;
  const masked = V - keep;
  const cap = Math.min(chunk, n);
  const hc = cap ? g.alloc(cap * C) : new Float32Array(0);
  const z = cap ? g.alloc(cap * keep) : new Float32Array(0);

  /** z (m, keep) = s · h[rows r0 … r0+m) · W[:keep]ᵀ, the tempered logits of the chunk's kept columns. */
  const chunkLogits = (r0: number, m: number) => {
    for (let k = 0; k < m; k++) hc.set(h.data.subarray(rows[r0 + k] * C, rows[r0 + k] * C + C), k * C);
    if (transposed) blas.sgemm(false, false, m, keep, C, s, hc, 0, C, wd, 0, V, 0, z, 0, keep);
    else blas.sgemm(false, true, m, keep, C, s, hc, 0, C, wd, 0, C, 0, z, 0, keep);
  };

  for (let r0 = 0; r0 < n; r0 += cap) {
    const m = Math.min(cap, n - r0);
    chunkLogits(r0, m);
    for (let k = 0; k < m; k++) {
      const off = k * keep;
      // NOTE: the masked columns' MASKED_LOGIT enters the max and the sum as policyLogits' do (exp of it
      // is 0 unless every kept logit is as low), so the values are the unfused path's.
      let mx = masked ? MASKED_LOGIT : -Infinity;
      for (let j = 0; j < keep; j++) if (z[off + j] > mx) mx = z[off + j];
      let sum = masked ? masked * Math.exp(MASKED_LOGIT - mx) : 0,
        zsum = masked ? masked * MASKED_LOGIT * Math.exp(MASKED_LOGIT - mx) : 0;
      if (entropy) {
        for (let j = 0; j < keep; j++) {
          const e = Math.exp(z[off + j] - mx);
          sum += e;
          zsum += e * z[off + j];
        }
      } else {
        for (let j = 0; j < keep; j++) sum += Math.exp(z[off + j] - mx);
      }
      const l = (lse[r0 + k] = mx + Math.log(sum));
      const i = rows[r0 + k],
        t = targets[i];
      logp.data[i] = (t < keep ? z[off + t] : MASKED_LOGIT) - l;
      // H = −Σ p (z − lse) = lse − Σ p z
      if (entropy) entropy.data[i] = l - zsum / sum;
    }
  }

  let done = false;
  const backward = () => {
    // NOTE: registered on both outputs; the first to run (the entropy's, later on the tape) has both
    // gradients complete, since every consumer of either output comes after this op on the tape.
    if (done) return;
    done = true;
    const dlp = logp.grad,
      dH = entropy?.grad ?? null;
    const dh = h.requiresGrad ? g.gradOf(h) : null;
    const dW = W.requiresGrad ? g.gradOf(W) : null;
    const dhc = dh ? g.alloc(cap * C) : null;
    for (let r0 = 0; r0 < n; r0 += cap) {
      const m = Math.min(cap, n - r0);
      chunkLogits(r0, m);
      // z becomes dL/dz (of the tempered logits): dlogp·(δ_jt − p_j) − dH·p_j·(z_j − lse + H).
      for (let k = 0; k < m; k++) {
        const off = k * keep,
          i = rows[r0 + k],
          l = lse[r0 + k];
        const a = dlp ? dlp[i] : 0,
          b = dH ? dH[i] : 0;
        if (b) {
          const H = entropy!.data[i];
          for (let j = 0; j < keep; j++) {
            const zj = z[off + j],
              p = Math.exp(zj - l);
            z[off + j] = -p * (a + b * (zj - l + H));
          }
        } else {
          for (let j = 0; j < keep; j++) z[off + j] = -a * Math.exp(z[off + j] - l);
        }
        const t = targets[i];
        if (t < keep) z[off + t] += a;
      }
      // The chain rule through the 1/temperature scale is gemm's alpha.
      if (dh && dhc) {
        if (transposed) blas.sgemm(false, true, m, C, keep, s, z, 0, keep, wd, 0, V, 0, dhc, 0, C);
        else blas.sgemm(false, false, m, C, keep, s, z, 0, keep, wd, 0, C, 0, dhc, 0, C);
        for (let k = 0; k < m; k++) {
          const dst = rows[r0 + k] * C,
            src = k * C;
          for (let c = 0; c < C; c++) dh[dst + c] += dhc[src + c];
        }
      }
      if (dW) {
        // dW (keep, C) += s · dzᵀ (keep, m) · hc (m, C)  [transposed: dW (C, keep) += s · hcᵀ · dz]
        if (transposed) blas.sgemm(true, false, C, keep, m, s, hc, 0, C, z, 0, keep, 1, dW, 0, V);
        else blas.sgemm(true, false, keep, C, m, s, z, 0, keep, hc, 0, C, 1, dW, 0, C);
      }
    }
  };
  g.onBackward(logp, backward);
  if (entropy) g.onBackward(entropy, backward);
  return { logp, entropy };
}
