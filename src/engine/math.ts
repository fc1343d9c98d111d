// Scalar helpers shared by kernels.

/**
 * tanh, ~5x faster than Math.tanh in V8 on the range GELU uses.
 * NOTE: the 9/8 Lambert continued fraction is accurate to 3e-8 for |x| <= 3 (below float32
 * resolution); outside that range the exact exp form is used.
 */
export function fastTanh(x: number): number {
  if (x > 3 || x < -3) {
    const e = Math.exp(-2 * Math.abs(x));
    const t = (1 - e) / (1 + e);
    return x < 0 ? -t : t;
  }
  const x2 = x * x;
  return (
    (x * (2027025 + x2 * (270270 + x2 * (6930 + x2 * 36)))) / (2027025 + x2 * (945945 + x2 * (51975 + x2 * (630 + x2))))
  );
}

/** log(1 + exp(x)) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** The logistic function without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
