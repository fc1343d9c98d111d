#!/usr/bin/env node
// Writes 2-digit additions, digits spaced so that each digit is one token ("1 7 + 2 5 =" → " 4 2"): small
// enough to learn in minutes on a laptop CPU, with answers that can be checked exactly.
//
// Usage:
//   node examples/adder/make-data.mjs [count] > adder.jsonl            SFT data {prompt, completion} (4,000)
//   node examples/adder/make-data.mjs --prompts [count] > prompts.jsonl  RL prompts {prompt, answer} (2,000)
//     (each operand one or two digits, equally often)
//   node examples/adder/make-data.mjs --eval > eval.jsonl               the 135 held-out sums {prompt, answer}
//
// The held-out sums are a grid (a = 0, 7, …, 98; b = 1, 13, …, 97): the other two sets never contain them.
const args = process.argv.slice(2);
const mode = args[0]?.startsWith('--') ? args.shift() : '--sft';
if (!['--sft', '--prompts', '--eval'].includes(mode)) {
  process.stderr.write(`make-data.mjs: unknown option ${mode}; use --prompts, --eval or a count\n`);
  process.exit(2);
}
const count = Number(args[0] ?? (mode === '--prompts' ? 2000 : 4000));
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write(`make-data.mjs: count ${args[0]} must be a whole number ≥ 1\n`);
  process.exit(2);
}

const spaced = (n) => String(n).split('').join(' ');
const prompt = (a, b) => `${spaced(a)} + ${spaced(b)} =`;
const grid = [];
for (let a = 0; a <= 98; a += 7) for (let b = 1; b <= 97; b += 12) grid.push([a, b]);
const held = new Set(grid.map(([a, b]) => `${a}+${b}`));

const write = (record) => process.stdout.write(JSON.stringify(record) + '\n');
if (mode === '--eval') {
  for (const [a, b] of grid) write({ prompt: prompt(a, b), answer: spaced(a + b) });
} else {
  // Different seeds, so the RL prompts are not the SFT data's prompts.
  let s = mode === '--sft' ? 12345 : 777;
  const rand = (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  // RL prompts draw each operand's digit count first (1 or 2 equally often): uniform draws from 0–99 give
  // one-digit operands only 10% of the time, and the SFT policy gets most of those wrong.
  const operand = () => (mode === '--sft' ? rand(100) : rand(2) ? rand(10) : 10 + rand(90));
  for (let i = 0; i < count; ) {
    const a = operand(),
      b = operand();
    if (held.has(`${a}+${b}`)) continue;
    if (mode === '--sft') write({ prompt: prompt(a, b), completion: ` ${spaced(a + b)}` });
    else write({ prompt: prompt(a, b), answer: spaced(a + b) });
    i++;
  }
}
