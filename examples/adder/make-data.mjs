#!/usr/bin/env node
// Writes a prompt/completion data set of 2-digit additions ("17+25=" → "42"), a task small enough
// to learn in a minute on a laptop CPU, with an answer that can be checked exactly.
// Usage: node examples/adder/make-data.mjs [count] > adder.jsonl
const count = Number(process.argv[2] ?? 4000);
let s = 12345;
const rand = (n) => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return (s >>> 8) % n;
};
for (let i = 0; i < count; i++) {
  const a = rand(100), b = rand(100);
  process.stdout.write(JSON.stringify({ prompt: `${a}+${b}=`, completion: String(a + b) }) + '\n');
}
