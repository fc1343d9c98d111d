#!/usr/bin/env node
// Writes a prompt/completion data set of 2-digit additions, digits spaced so that each digit is one
// token ("1 7 + 2 5 =" → " 4 2"): small enough to learn in minutes on a laptop CPU, with answers
// that can be checked exactly.
// Usage: node examples/adder/make-data.mjs [count] > adder.jsonl
const count = Number(process.argv[2] ?? 4000);
let s = 12345;
const rand = (n) => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return (s >>> 8) % n;
};
const spaced = (n) => String(n).split('').join(' ');
for (let i = 0; i < count; i++) {
  const a = rand(100),
    b = rand(100);
  process.stdout.write(
    JSON.stringify({ prompt: `${spaced(a)} + ${spaced(b)} =`, completion: ` ${spaced(a + b)}` }) + '\n',
  );
}
