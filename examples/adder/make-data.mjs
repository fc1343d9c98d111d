#!/usr/bin/env node
// Writes 2-digit additions, digits spaced so that each digit is one token ("1 7 + 2 5 =" → " 4 2"): small
// enough to learn in minutes on a laptop CPU, with answers that can be checked exactly.
//
// Usage:
//   node examples/adder/make-data.mjs [count] > adder.jsonl            SFT data {prompt, completion} (4,000)
//   node examples/adder/make-data.mjs --prompts [count] > prompts.jsonl  RL prompts {prompt, answer} (2,000)
//   node examples/adder/make-data.mjs --eval > eval.jsonl               the 135 held-out sums {prompt, answer}
// Options (before the count):
//   --digits uniform|balanced  how operands are drawn: uniform in 0–99 (one-digit a tenth of the time), or
//                              the number of digits first, one or two equally often (default: uniform for
//                              SFT data, balanced for RL prompts)
//   --seed N                   the generator's seed (default: 12345 for SFT data, 777 for RL prompts)
//
// The held-out sums are a grid (a = 0, 7, …, 98; b = 1, 13, …, 97): the other two sets never contain them.
const fail = (msg) => {
  process.stderr.write(`make-data.mjs: ${msg}\n`);
  process.exit(2);
};
const args = process.argv.slice(2);
let mode = '--sft',
  digits,
  seed;
while (args[0]?.startsWith('--')) {
  const flag = args.shift();
  if (flag === '--prompts' || flag === '--eval') mode = flag;
  else if (flag === '--digits') {
    digits = args.shift();
    if (digits !== 'uniform' && digits !== 'balanced') fail(`--digits ${digits ?? ''}: use uniform or balanced`);
  } else if (flag === '--seed') {
    seed = Number(args.shift());
    if (!Number.isInteger(seed) || seed < 0) fail('--seed takes a whole number ≥ 0');
  } else fail(`unknown option ${flag}; use --prompts, --eval, --digits, --seed or a count`);
}
const count = Number(args[0] ?? (mode === '--prompts' ? 2000 : 4000));
if (!Number.isInteger(count) || count < 1) fail(`count ${args[0]} must be a whole number ≥ 1`);

const spaced = (n) => String(n).split('').join(' ');
const prompt = (a, b) => `${spaced(a)} + ${spaced(b)} =`;
const grid = [];
for (let a = 0; a <= 98; a += 7) for (let b = 1; b <= 97; b += 12) grid.push([a, b]);
const held = new Set(grid.map(([a, b]) => `${a}+${b}`));

const write = (record) => process.stdout.write(JSON.stringify(record) + '\n');
if (mode === '--eval') {
  for (const [a, b] of grid) write({ prompt: prompt(a, b), answer: spaced(a + b) });
} else {
  // Different default seeds, so the RL prompts are not the SFT data's prompts.
  let s = seed ?? (mode === '--sft' ? 12345 : 777);
  const rand = (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  // Balanced draws pick the digit count first: uniform draws give one-digit operands only 10% of the time,
  // and the uniform SFT policy gets most of those wrong (docs/training.md, the adder recipe).
  const balanced = (digits ?? (mode === '--sft' ? 'uniform' : 'balanced')) === 'balanced';
  const operand = () => (balanced ? (rand(2) ? rand(10) : 10 + rand(90)) : rand(100));
  for (let i = 0; i < count; ) {
    const a = operand(),
      b = operand();
    if (held.has(`${a}+${b}`)) continue;
    if (mode === '--sft') write({ prompt: prompt(a, b), completion: ` ${spaced(a + b)}` });
    else write({ prompt: prompt(a, b), answer: spaced(a + b) });
    i++;
  }
}
