// Splitting text around special tokens such as "<|endoftext|>", which are matched literally and
// never pass through pre-tokenization or merges.

export type Segment = string | { special: string };

// Keyed by the list itself: callers keep one list per tokenizer (Llama 3 has 256 special tokens, too many
// to turn into a key string on every call).
const patternCache = new WeakMap<readonly string[], RegExp>();

function specialPattern(specials: readonly string[]): RegExp {
  let re = patternCache.get(specials);
  if (re === undefined) {
    // Longest first, so that a special token that is a prefix of another does not win.
    const alternatives = [...specials]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    re = new RegExp(alternatives.join('|'), 'gu');
    patternCache.set(specials, re);
  }
  return re;
}

/**
 * Splits text into plain-text pieces and special tokens, in order. Empty pieces are dropped. Pass the same
 * `specials` array on every call: its pattern is cached on it.
 */
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
