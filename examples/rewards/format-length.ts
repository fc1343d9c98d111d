// A reward written as code, in TypeScript (rlhf transpiles it when it loads it): a completion scores
// up to 0.5 for ending cleanly and up to 0.5 for a length in the target range, so 1 at best.
//
// - Ends cleanly: one non-empty line (nothing after a newline but spaces), whose last character is a
//   letter, a digit or closing punctuation (not a dangling comma, operator or opening bracket, the
//   usual sign of a completion cut off at its token limit).
// - Length: its number of words (separated by spaces) within [MIN_WORDS, MAX_WORDS] scores 0.5;
//   outside, the score falls linearly to 0 at a distance of the range's width (at least 1 word). An
//   empty completion scores 0.
//   A prompt record may set its own range with `min_words` and `max_words` fields.
//
//   rlhf train rest --init sft --prompts prompts.jsonl --out run \
//     --reward examples/rewards/exact-answer.mjs --reward examples/rewards/format-length.ts \
//     --reward-weights 1,0.2
//
// The defaults fit the adder's answers ("1 1 3": 1 to 3 digits, each one word).

const MIN_WORDS = 1;
const MAX_WORDS = 3;

/** What the reward is given: one entry per row, and the prompt records' other fields as columns. */
interface RewardInput {
  prompts: string[];
  completions: string[];
  min_words?: (number | undefined)[];
  max_words?: (number | undefined)[];
}

const CLEAN_END = /[\p{L}\p{N}.!?)\]}"'’]$/u;

function endsCleanly(completion: string): boolean {
  const [first, ...rest] = completion.split('\n');
  const line = first.trim();
  return line.length > 0 && rest.every((l) => l.trim() === '') && CLEAN_END.test(line);
}

/** 1 inside [lo, hi], falling linearly to 0 at a distance of the range's width outside it. */
function inRange(n: number, lo: number, hi: number): number {
  const d = n < lo ? lo - n : n > hi ? n - hi : 0;
  return Math.max(0, 1 - d / Math.max(1, hi - lo));
}

export default function formatLength({ completions, min_words, max_words }: RewardInput): number[] {
  return completions.map((completion, i) => {
    const lo = min_words?.[i] ?? MIN_WORDS;
    const hi = max_words?.[i] ?? MAX_WORDS;
    if (!(lo <= hi)) throw new Error(`format-length: min_words ${lo} is over max_words ${hi}`);
    const words = completion.trim().split(/\s+/).filter(Boolean).length;
    if (words === 0) return 0; // nothing said: neither a clean end nor a length to reward
    return (endsCleanly(completion) ? 0.5 : 0) + 0.5 * inRange(words, lo, hi);
  });
}
