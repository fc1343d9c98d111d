// Splitting text around special tokens such as "<|endoftext|>", which are matched literally and
// never pass through pre-tokenization or merges.

export type Segment = string | { special: string };

const patternCache = new Map<string, RegExp>();

function specialPattern(specials: readonly string[]): RegExp {
  const cacheKey = JSON.stringify(specials);
  let re = patternCache.get(cacheKey);
  if (re === undefined) {
    // Longest first, so that a special token that is a prefix of another does not win.
    const alternatives = [...specials]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    re = new RegExp(alternatives.join('|'), 'gu');
    patternCache.set(cacheKey, re);
  }
  return re;
}

/** Splits text into plain-text pieces and special tokens, in order. Empty pieces are dropped. */
export function splitOnSpecials(text: string, specials: readonly string[]): Segment[] {
  if (specials.length === 0 || !specials.some((s) => text.includes(s))) return text === '' ? [] : [text];
  const re = specialPattern(specials);
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push({ special: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
