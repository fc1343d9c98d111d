// Baselines that give a reward model's accuracy a meaning: how far do surface features get on the
// same pairs? "Longer wins", and a bag-of-words logistic model over token counts.

export interface BaselinePair {
  chosen: number[];
  rejected: number[];
  chosenText: string;
  rejectedText: string;
}

/** Accuracy of "the longer completion (in characters) wins"; ties count half. */
export function lengthBaseline(pairs: BaselinePair[]): number {
  if (pairs.length === 0) return NaN;
  let right = 0;
  for (const p of pairs) {
    const a = p.chosenText.length,
      b = p.rejectedText.length;
    right += a > b ? 1 : a === b ? 0.5 : 0;
  }
  return right / pairs.length;
}

/** Token-frequency vector (counts / length) of one completion. */
function bag(ids: number[], V: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of ids) if (t < V) m.set(t, (m.get(t) ?? 0) + 1 / ids.length);
  return m;
}

function diff(p: BaselinePair, V: number): Map<number, number> {
  const d = bag(p.chosen, V);
  for (const [t, v] of bag(p.rejected, V)) d.set(t, (d.get(t) ?? 0) - v);
  return d;
}

/**
 * A bag-of-words Bradley-Terry model: r(x) = w · frequencies(x), trained by gradient descent with
 * L2 on the training pairs; returns its accuracy on the test pairs (ties count half).
 */
export function bagOfWordsBaseline(
  train: BaselinePair[],
  test: BaselinePair[],
  V: number,
  epochs = 30,
  lr = 2,
  l2 = 1e-4,
): number {
  if (test.length === 0) return NaN;
  const w = new Float64Array(V);
  const xs = train.map((p) => diff(p, V));
  for (let e = 0; e < epochs; e++) {
    const grad = new Float64Array(V);
    for (const x of xs) {
      let z = 0;
      for (const [t, v] of x) z += w[t] * v;
      const g = -1 / (1 + Math.exp(z)); // d/dz of −log σ(z)
      for (const [t, v] of x) grad[t] += g * v;
    }
    for (let t = 0; t < V; t++) w[t] -= lr * (grad[t] / Math.max(1, xs.length) + l2 * w[t]);
  }
  let right = 0;
  for (const p of test) {
    let z = 0;
    for (const [t, v] of diff(p, V)) z += w[t] * v;
    right += z > 0 ? 1 : z === 0 ? 0.5 : 0;
  }
  return right / test.length;
}
