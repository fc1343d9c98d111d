// Where a trusted judge and the proxy part ways along a run (Gao et al., "Scaling Laws for Reward Model
// Over-optimization"): the proxy (the reward being optimized) keeps rising after the trusted judge has
// peaked, so what the policy still gains is the proxy's errors. The trusted judge is the gold judge where
// one is known (`rlhf demo`), else a signal independent of the proxy (the over-optimization monitor:
// a second reward model, held-out human labels, a judge model). Both score higher = better.

/** One point of a run (a training step, or N of best-of-N): the trusted judge's and the proxy's score. */
export interface ScorePoint {
  step: number;
  kl: number;
  /** The trusted judge: gold, or a signal independent of the proxy, oriented so that higher is better. */
  gold: number;
  proxy: number;
}

export interface PartingPoint {
  /** Where the trusted judge is highest along the run (a 3-point moving mean, so one noisy batch does not decide). */
  step: number;
  kl: number;
  gold: number;
  proxy: number;
  /** From that point to the run's end (moving means again): how the judge (≤ 0 by definition) and proxy moved. */
  goldChangeAfter: number;
  proxyChangeAfter: number;
  /**
   * After the judge's peak the proxy still rose, by more than minProxyRise: the judge no longer follows the
   * proxy, and what the policy still gains is the reward model's errors (goldChangeAfter says whether the
   * judge also fell, the stronger sign).
   */
  parted: boolean;
}

/**
 * The centred 3-point moving mean of `xs` (2 points at either end): the value at i is the mean of
 * xs[i−1], xs[i], xs[i+1], of those that exist. The last value changes when a point is added after it.
 */
export function movingMean3(xs: readonly number[]): number[] {
  return xs.map((_, i) => {
    let sum = 0,
      n = 0;
    for (let j = Math.max(0, i - 1); j <= Math.min(xs.length - 1, i + 1); j++) {
      sum += xs[j];
      n++;
    }
    return sum / n;
  });
}

/**
 * Where the trusted judge and the proxy part ways along a run (points in step order); null for fewer than 3
 * points. minProxyRise keeps noise from counting as parting (the demo uses a quarter of the SFT samples'
 * spread, the monitor a quarter of the starting policy's by default). The peak is the first highest.
 */
export function partingPoint(points: readonly ScorePoint[], minProxyRise = 0): PartingPoint | null {
  if (points.length < 3) return null;
  const gold = movingMean3(points.map((p) => p.gold)),
    proxy = movingMean3(points.map((p) => p.proxy)),
    kl = movingMean3(points.map((p) => p.kl));
  let peak = 0;
  for (let i = 1; i < points.length; i++) if (gold[i] > gold[peak]) peak = i;
  const last = points.length - 1;
  const goldChangeAfter = gold[last] - gold[peak],
    proxyChangeAfter = proxy[last] - proxy[peak];
  return {
    step: points[peak].step,
    kl: kl[peak],
    gold: gold[peak],
    proxy: proxy[peak],
    goldChangeAfter,
    proxyChangeAfter,
    parted: peak < last && proxyChangeAfter > minProxyRise,
  };
}
