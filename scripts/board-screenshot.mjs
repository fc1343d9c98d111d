#!/usr/bin/env node
// The screenshots in docs/board.md and README.md: trains the adder's SFT policy (examples/adder) and two
// GRPO runs from it (β 0 and β 0.1, rewarded by two rewards written as code) through the CLI, serves them
// with `rlhf board`, and saves the page in headless Chromium (Debian's, as the browser tests use), the
// two GRPO runs selected: docs/img/board.png (Metrics) and docs/img/board-samples.png (Samples).
//
//   npx tsc -p tsconfig.json && node scripts/board-screenshot.mjs [--work DIR] [--fresh]
//
// The runs are kept in --work (default $TMPDIR/rlhf-board-screenshot; its runs/ is the path the page
// shows) and trained again only with --fresh, so after a change to the page's look it is shot again in
// seconds. Training takes about three minutes on 2 cores.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'rlhf.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const work = resolve(opt('--work', join(tmpdir(), 'rlhf-board-screenshot')));
const imgDir = join(repo, 'docs', 'img');
const runs = join(work, 'runs');
if (args.includes('--fresh')) rmSync(work, { recursive: true, force: true });
mkdirSync(runs, { recursive: true });
mkdirSync(imgDir, { recursive: true });

const { launchChromium } = await import(join(repo, 'dist', 'test-support', 'chromium.js'));

/** Runs a command; resolves with its stdout. */
function run(cmd, argv, { quiet = false } = {}) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, argv, { cwd: repo, stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'] });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr?.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? ok(out) : fail(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${err}`)),
    );
  });
}
const rlhf = (...argv) => run(process.execPath, [bin, ...argv, '--quiet']);
const done = (dir) => existsSync(join(dir, 'summary.json'));

// ---- the runs ----
const data = join(work, 'adder.jsonl'),
  prompts = join(work, 'adder-prompts.jsonl');
if (!existsSync(prompts)) {
  writeFileSync(data, await run(process.execPath, ['examples/adder/make-data.mjs']));
  writeFileSync(prompts, await run(process.execPath, ['examples/adder/make-data.mjs', '--prompts']));
}
const sft = join(runs, 'adder-sft');
const t0 = Date.now();
if (!done(sft)) {
  console.log('training the SFT policy (runs/adder-sft)…');
  await rlhf(
    ...['train', 'sft', '--data', data, '--out', sft, '--preset', 'small', '--vocab-size', '300'],
    ...['--context', '24', '--steps', '1500', '--batch-size', '32', '--lr', '2e-3', '--eval-every', '100'],
  );
}
for (const beta of ['0', '0.1']) {
  const out = join(runs, `grpo-beta-${beta}`);
  if (done(out)) continue;
  console.log(`training GRPO with β ${beta} (runs/grpo-beta-${beta})…`);
  await rlhf(
    ...['train', 'grpo', '--init', sft, '--prompts', prompts, '--out', out, '--beta', beta],
    ...['--reward', 'examples/rewards/exact-answer.mjs', '--reward', 'examples/rewards/format-length.ts'],
    ...['--reward-weights', '1,0.2', '--num-generations', '8', '--batch-size', '16'],
    ...['--max-completion-length', '8', '--lr', '5e-4', '--steps', '150', '--samples-every', '10'],
  );
}
console.log(`runs ready (${((Date.now() - t0) / 1000).toFixed(0)} s of training)`);

// ---- the board, in Chromium ----
const board = spawn(process.execPath, [bin, 'board', runs, '--port', '0'], {
  cwd: repo,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((ok, fail) => {
  let out = '';
  board.stdout.on('data', (d) => {
    out += d;
    const m = /open (http:\/\/\S+)/.exec(out);
    if (m) ok(m[1]);
  });
  board.on('close', (code) => fail(new Error(`rlhf board exited (${code}) before it printed its address`)));
});
const context = await launchChromium({ viewport: { width: 1280, height: 800 } });
try {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(url);
  await page.locator('li[data-run="grpo-beta-0.1"]').waitFor();
  // The two GRPO runs, β 0 first (blue), then β 0.1 (orange).
  for (const id of ['adder-sft', 'grpo-beta-0', 'grpo-beta-0.1'])
    await page.locator(`li[data-run="${id}"] input[type=checkbox]`).uncheck();
  for (const id of ['grpo-beta-0', 'grpo-beta-0.1'])
    await page.locator(`li[data-run="${id}"] input[type=checkbox]`).check();
  // Every point drawn: both runs' 150 steps of the reward, then time for the last ones to be painted.
  const drawn = page.locator('.plot[data-metric="reward"]');
  for (let i = 0; (await drawn.getAttribute('data-points', { timeout: 10_000 })) !== '300'; i++) {
    if (i === 100) throw new Error(`the reward plot has ${await drawn.getAttribute('data-points')} points, not 300`);
    await page.waitForTimeout(100);
  }
  await page.waitForTimeout(1000);
  const png = (name) => join(imgDir, name);
  await page.screenshot({ path: png('board.png') });
  await page.getByRole('tab', { name: 'Samples' }).click();
  await page.locator('#samples-run').selectOption('grpo-beta-0.1');
  await page.locator('#samples-list .sample').first().waitFor();
  // The last step whose first prompt was answered both right and wrong: the scores and advantages differ.
  const lines = readFileSync(join(runs, 'grpo-beta-0.1', 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const samples = lines.map((l) => JSON.parse(l));
  const mixed = samples.filter((x, i) => {
    if (i > 0 && samples[i - 1].step === x.step) return false;
    const group = samples.filter((y) => y.step === x.step && y.prompt === x.prompt);
    return new Set(group.map((y) => y.reward)).size > 1;
  });
  if (mixed.length) {
    await page.locator('#samples-step').selectOption(String(mixed.at(-1).step));
    const first = samples.findIndex((x) => x.step === mixed.at(-1).step) + 1;
    await page.locator(`#samples-list .sample[data-line="${first}"]`).waitFor();
  }
  await page.waitForTimeout(300);
  await page.screenshot({ path: png('board-samples.png') });
  if (problems.length) throw new Error(`the page reported: ${problems.join('; ')}`);
  for (const f of ['board.png', 'board-samples.png'])
    console.log(`${join('docs', 'img', f)}: ${(statSync(png(f)).size / 1024).toFixed(0)} KB`);
} finally {
  await context.dispose();
  board.kill();
}
