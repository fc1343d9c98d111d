// The over-optimization monitor's signals that do not come from the proxy, as pure functions: how
// often a policy's own log-likelihood ratio to its reference ranks the labeled winner of a held-out
// comparison first, how much an ensemble of reward models disagrees on a sample, and a judge's
// pairwise win rate against the reference policy's sample.

/**
 * Held-out preference accuracy of a policy's implicit reward: for each labeled pair (chosen, rejected),
 * the log-ratio margin [log π(chosen) − log π_ref(chosen)] − [log π(rejected) − log π_ref(rejected)]
 * ranks the chosen first when it is > 0 (DPO's implicit reward, Rafailov et al.; any policy has one).
 * Ties count half, so the reference itself (every margin 0) scores exactly 0.5. A margin within `tie` nats
 * of 0 is a tie: two float32 forward passes of the same weights can differ by ~1e-6 nats, which must not
 * decide a pair. Inputs are per-pair sequence log-probs (sums over the completion's tokens).
 */
export function logRatioAccuracy(
  policyChosen: readonly number[],
  refChosen: readonly number[],
  policyRejected: readonly number[],
  refRejected: readonly number[],
  tie = 1e-3,
): number {
  const P = policyChosen.length;
  for (const [name, xs] of [
    ['refChosen', refChosen],
    ['policyRejected', policyRejected],
    ['refRejected', refRejected],
  ] as const)
    if (xs.length !== P) throw new Error(`logRatioAccuracy: ${name} has ${xs.length} pairs, policyChosen ${P}`);
  if (P === 0) return NaN;
  let right = 0;
  for (let i = 0; i < P; i++) {
    const margin = policyChosen[i] - refChosen[i] - (policyRejected[i] - refRejected[i]);
    right += margin > tie ? 1 : margin >= -tie ? 0.5 : 0;
  }
  return right / P;
}

/**
 * Per item, the standard deviation (population, over the K members) of the members' rewards:
 * `scores[k][i]` is member k's reward of item i. Where members trained on resamples of the same labels
 * disagree, the policy has gone where the labels say little (Coste et al., "Reward Model Ensembles Help
 * Mitigate Overoptimization").
 */
export function memberSpread(scores: readonly (readonly number[])[]): number[] {
  const K = scores.length;
  if (K < 2) throw new Error(`memberSpread needs at least 2 members, got ${K}`);
  const n = scores[0].length;
  scores.forEach((s, k) => {
    if (s.length !== n) throw new Error(`memberSpread: member ${k} scored ${s.length} items, member 0 ${n}`);
  });
  return Array.from({ length: n }, (_, i) => {
    let m = 0;
    for (let k = 0; k < K; k++) m += scores[k][i];
    m /= K;
    let v = 0;
    for (let k = 0; k < K; k++) v += (scores[k][i] - m) ** 2;
    return Math.sqrt(v / K);
  });
}

/** A judge's verdict on one pair: the policy's sample won, the reference's won, a tie, or no usable answer. */
export type Verdict = 'policy' | 'reference' | 'tie' | null;

/**
 * The policy's win rate over the judged pairs (ties half), and the share of answers that could not be
 * read (left out of the rate). NaN when no answer could be read.
 */
export function judgeWinRate(verdicts: readonly Verdict[]): { winRate: number; invalid: number } {
  let wins = 0,
    judged = 0;
  for (const v of verdicts) {
    if (v === null) continue;
    judged++;
    wins += v === 'policy' ? 1 : v === 'tie' ? 0.5 : 0;
  }
  return {
    winRate: judged ? wins / judged : NaN,
    invalid: verdicts.length ? (verdicts.length - judged) / verdicts.length : 0,
  };
}
