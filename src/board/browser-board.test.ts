// `rlhf board` in real Chromium, on two finished GRPO runs trained here through the CLI (a reward model
// and a reward module, so each sample has two reward scores) and a third run whose metrics this test
// writes while the page is open: the plots and the step counter follow it, a bad line becomes a note, a
// run that starts later shows up, two runs' configurations compare, and the samples view shows a step.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { launchChromium } from '../test-support/chromium.js';
import { runRLHF } from '../test-support/cli.js';
import { skipBrowser } from '../feedback/server/browser-harness.js';
import { letterPolicy } from '../train/test-fixtures.js';
import { buildBoardServer } from './server.js';

const exactAnswer = fileURLToPath(new URL('../../examples/rewards/exact-answer.mjs', import.meta.url));

async function rlhf(...args: string[]): Promise<void> {
  const r = await runRLHF(args, { RLHF_THREADS: '1' });
  if (r.status !== 0) throw new Error(`rlhf ${args.join(' ')}: ${r.err}`);
}

/** Waits until the element's attribute (or text, with attr null) satisfies `ok`. */
async function waitFor(page: Page, sel: string, attr: string | null, ok: (v: string) => boolean, what: string) {
  let last = '';
  for (let i = 0; i < 200; i++) {
    const loc = page.locator(sel);
    if ((await loc.count()) > 0) {
      last = (attr ? await loc.first().getAttribute(attr) : await loc.first().textContent()) ?? '';
      if (ok(last)) return last;
    }
    await page.waitForTimeout(50);
  }
  throw new Error(`${what}: ${sel} ${attr ?? 'text'} is ${JSON.stringify(last)}`);
}

describe('rlhf board in Chromium', { skip: skipBrowser }, () => {
  let root: string, runs: string, app: FastifyInstance, page: Page;
  let context: Awaited<ReturnType<typeof launchChromium>>;
  const problems: string[] = [];
  const live = () => join(runs, 'live', 'metrics.jsonl');
  let lines: string[];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'rlhf-board-browser-'));
    runs = join(root, 'runs');
    const base = letterPolicy();
    const rm = join(root, 'rm');
    RewardModel.fromTrunk(loadCheckpoint(base.dir).model, base.tok, 32, 8).save(rm);
    const prompts = join(root, 'prompts.jsonl');
    writeFileSync(prompts, [' b', ' c', ' d'].map((p) => JSON.stringify({ prompt: p, answer: 'a' })).join('\n') + '\n');
    const grpo = (name: string, ...more: string[]) =>
      rlhf(
        ...['train', 'grpo', '--init', base.dir, '--prompts', prompts, '--reward', rm, '--reward', exactAnswer],
        ...['--out', join(runs, name), '--steps', '4', '--batch-size', '2', '--num-generations', '3'],
        ...['--max-completion-length', '3', '--samples-every', '2', '--quiet', ...more],
      );
    await Promise.all([grpo('grpo-a'), grpo('grpo-b', '--beta', '0.1', '--lr', '3e-4')]);
    // The live run writes grpo-a's lines (real metrics), two now and more while the page is open.
    lines = readFileSync(join(runs, 'grpo-a', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    mkdirSync(join(runs, 'live'));
    writeFileSync(live(), `${lines[0]}\n${lines[1]}\n`);
    app = buildBoardServer({ roots: [runs], pollMs: 250, staleMs: 600_000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    context = await launchChromium({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/`);
  });
  after(async () => {
    await context?.dispose();
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('lists the runs with their trainer, status and step, and plots every metric of the three', async () => {
    await page.locator('li[data-run="live"]').waitFor();
    assert.deepEqual(await page.locator('#runs li').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-run'))), [
      'grpo-a',
      'grpo-b',
      'live',
    ]);
    const meta = (id: string) => page.locator(`li[data-run="${id}"] .run-meta`).textContent();
    assert.match((await meta('grpo-a'))!, /grpo\s*finished\s*step 4 \/ 4/);
    assert.match((await meta('live'))!, /unknown trainer\s*running\s*step 2/);
    // 4 + 4 + 2 points of the reward, each reward function's mean and the KL (grpo-b's β > 0) plotted.
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '10', 'reward points');
    for (const m of ['loss', 'rewards/rm/mean', 'rewards/exact-answer/mean', 'entropy', 'train/lr', 'kl'])
      assert.equal(await page.locator(`.plot[data-metric="${m}"]`).count(), 1, m);
    assert.equal(await page.locator('.plot[data-metric="kl"]').getAttribute('data-points'), '4', 'grpo-b only');
    assert.equal(await page.locator('.plot[data-metric="reward"] canvas').count(), 1, 'drawn');
    // Drawn in the three runs' colours, with no eval (the learning rates differ, so no line hides another).
    const colours = () =>
      page.locator('.plot[data-metric="train/lr"] canvas').evaluate((c: HTMLCanvasElement) => {
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const near = (i: number, hex: string) =>
          [1, 3, 5].every((k, j) => Math.abs(px[i + j] - Number.parseInt(hex.slice(k, k + 2), 16)) < 24);
        const n = [0, 0, 0];
        for (let i = 0; i < px.length; i += 4)
          if (px[i + 3] > 200) ['#4e79a7', '#f28e2b', '#e15759'].forEach((h, k) => (n[k] += near(i, h) ? 1 : 0));
        return n;
      });
    const drawnInColour = async (what: string) => {
      let n = await colours();
      for (let i = 0; i < 40 && !n.every((k) => k > 20); i++) {
        await page.waitForTimeout(50);
        n = await colours();
      }
      assert.ok(
        n.every((k) => k > 20),
        `${what}: pixels in grpo-a's, grpo-b's and live's colours: ${n}`,
      );
    };
    await drawnInColour('smoothed');
    // Smoothed at first (TensorBoard's 0.6), as logged at 0: every plot drawn again, in the runs' colours.
    assert.equal(await page.locator('.plot[data-metric="reward"]').getAttribute('data-smoothing'), '0.6');
    await page.locator('#smoothing').fill('0');
    await waitFor(page, '.plot[data-metric="train/lr"]', 'data-smoothing', (v) => v === '0', 'smoothing off');
    assert.equal(await page.locator('#smoothing-value').textContent(), '0');
    assert.equal(await page.locator('.plot[data-metric="reward"]').getAttribute('data-points'), '10');
    await drawnInColour('as logged');
    // Hovering runs the plots' event handlers and tooltips (interpreted too: any eval would be an error).
    await page.locator('.plot[data-metric="train/lr"]').scrollIntoViewIfNeeded();
    const box = (await page.locator('.plot[data-metric="train/lr"] canvas').boundingBox())!;
    for (let f = 0.1; f < 1; f += 0.1) await page.mouse.move(box.x + f * box.width, box.y + box.height / 2);
    // The dot at a run's latest point tells its run, step and value: found as its colour's rightmost pixel.
    const canvas = page.locator('.plot[data-metric="train/lr"] canvas');
    const dot = await canvas.evaluate((c: HTMLCanvasElement) => {
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const hit: number[][] = [];
      for (let i = 0; i < px.length; i += 4)
        if (Math.abs(px[i] - 0xf2) + Math.abs(px[i + 1] - 0x8e) + Math.abs(px[i + 2] - 0x2b) < 30)
          hit.push([(i / 4) % c.width, Math.floor(i / 4 / c.width)]);
      const right = Math.max(...hit.map((p) => p[0]));
      const near = hit.filter((p) => p[0] > right - 6);
      const r = c.width / c.getBoundingClientRect().width;
      return [0, 1].map((k) => near.reduce((a, p) => a + p[k], 0) / near.length / r);
    });
    await page.mouse.move(box.x + dot[0], box.y + dot[1]);
    const chart = '.plot[data-metric="train/lr"] .chart';
    await waitFor(page, chart, 'title', (t) => /run: grpo-b/.test(t), 'the tooltip');
    assert.match((await page.locator(chart).getAttribute('title'))!, /^run: grpo-b\nstep: 4\nvalue: [\d.e-]+$/);
    // Each plot as wide as its card, when the window is resized too.
    const widths = () =>
      page
        .locator('.plot[data-metric="reward"] .chart')
        .evaluate((c) => [Math.round(c.querySelector('canvas')!.getBoundingClientRect().width), c.clientWidth]);
    const fits = async (what: string) => {
      let w = await widths();
      for (let i = 0; i < 40 && w[0] !== w[1]; i++) {
        await page.waitForTimeout(50);
        w = await widths();
      }
      assert.equal(w[0], w[1], `${what}: the canvas is ${w[0]} px wide in a card of ${w[1]}`);
      return w[1];
    };
    const wide = await fits('at first');
    await page.setViewportSize({ width: 1000, height: 1000 });
    assert.notEqual(await fits('resized'), wide);
    await page.setViewportSize({ width: 1400, height: 1000 });
    assert.deepEqual(await page.locator('#legend').textContent(), 'grpo-agrpo-blive');
  });

  it('follows the running run: new lines reach the plots and the step counter, a bad line becomes a note', async () => {
    const latest = () => page.locator('.plot[data-metric="train/lr"] .latest .value.c2').textContent();
    const before = await latest();
    appendFileSync(live(), `${lines[2]}\n`);
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '11', 'a third live point');
    await waitFor(page, 'li[data-run="live"] .run-step', null, (t) => t === 'step 3', 'the step counter');
    assert.notEqual(await latest(), before, "the live run's latest learning rate");
    // A line cut short, then whole lines again: the page names the line and keeps going.
    appendFileSync(live(), '{"step": 4, "loss": \n');
    appendFileSync(live(), `${lines[3]}\n`);
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '12', 'past the bad line');
    assert.match((await page.locator('#notes').textContent())!, /live: metrics\.jsonl line 4: not JSON/);
    // A run that starts while the page is open appears, and is plotted.
    mkdirSync(join(runs, 'late'));
    writeFileSync(join(runs, 'late', 'metrics.jsonl'), `${lines[0]}\n`);
    await page.locator('li[data-run="late"]').waitFor();
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '13', "the new run's point");
    const filter = page.locator('#filter');
    await filter.fill('rewards/');
    assert.equal(await page.locator('.plot[data-metric="loss"]').isVisible(), false, 'filtered out');
    assert.equal(await page.locator('.plot[data-metric="rewards/rm/mean"]').isVisible(), true);
    await filter.fill('');
  });

  it('compares two selected runs: the fields where their configurations differ', async () => {
    for (const id of ['live', 'late']) await page.locator(`li[data-run="${id}"] input[type=checkbox]`).uncheck();
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '8', 'grpo-a and grpo-b only');
    // No run shown, then the two again: their plots come back from the lines read before.
    for (const id of ['grpo-a', 'grpo-b']) await page.locator(`li[data-run="${id}"] input[type=checkbox]`).uncheck();
    await waitFor(page, '#plots', null, (t) => t === '', 'no plot without a run');
    for (const id of ['grpo-a', 'grpo-b']) await page.locator(`li[data-run="${id}"] input[type=checkbox]`).check();
    await waitFor(page, '.plot[data-metric="reward"]', 'data-points', (v) => v === '8', 'both runs shown again');
    assert.equal(await page.locator('.plot[data-metric="kl"]').getAttribute('data-points'), '4', "grpo-b's KL");
    await page.getByRole('tab', { name: 'Config' }).click();
    await page.locator('#diff').waitFor();
    const rows = await page
      .locator('#diff tbody tr')
      .evaluateAll((rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
    assert.deepEqual(rows, [
      ['model.rlhf.beta', '0', '0.1'],
      ['train.options.beta', '0', '0.1'],
      ['train.options.lr', '0.00001', '0.0003'],
    ]);
    assert.match((await page.locator('#diff h3').textContent())!, /^3 fields differ, \d+ the same$/);
    // Either run's whole configuration, with what it was given.
    await page.locator('#config-out details summary', { hasText: 'grpo-a' }).click();
    assert.match((await page.locator('table.kv[data-run="grpo-a"]').textContent())!, /train\.inputs\.reward.*rm/);
  });

  it('shows the samples of a step with each reward function’s score', async () => {
    await page.getByRole('tab', { name: 'Samples' }).click();
    await page.locator('#samples-run').selectOption('grpo-a');
    await waitFor(page, '#samples-step option', null, (t) => t.startsWith('step 2 (6 samples'), 'the steps');
    assert.deepEqual(
      await page.locator('#samples-step option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))),
      ['2', '4'],
    );
    await page.locator('#samples-list .sample').first().waitFor();
    assert.equal(await page.locator('#samples-step').inputValue(), '4', 'the latest step first');
    await page.locator('#samples-step').selectOption('2');
    await waitFor(page, '#samples-list .sample', 'data-line', (v) => v === '1', 'step 2 shown');
    assert.equal(await page.locator('#samples-list .sample').count(), 6);
    const first = page.locator('#samples-list .sample').first();
    const chips = await first.locator('.chip-name').allTextContents();
    assert.deepEqual(chips.slice(0, 3), ['reward', 'rm', 'exact-answer']);
    assert.ok(chips.includes('advantage') && chips.includes('finish_reason'), chips.join());
    const sample = JSON.parse(readFileSync(join(runs, 'grpo-a', 'samples.jsonl'), 'utf8').split('\n')[0]);
    assert.equal(await first.locator('pre.completion').textContent(), sample.completion);
    assert.equal(await first.locator('pre.prompt').textContent(), sample.prompt);
  });

  it('plots drawn while another tab is open fit their cards once the Metrics tab is shown', async () => {
    const box = page.locator('li[data-run="grpo-b"] input[type=checkbox]');
    await box.uncheck();
    await box.check();
    await page.getByRole('tab', { name: 'Metrics' }).click();
    const w = () =>
      page
        .locator('.plot[data-metric="kl"] .chart')
        .evaluate((c) => [Math.round(c.querySelector('canvas')!.getBoundingClientRect().width), c.clientWidth]);
    let got = await w();
    for (let i = 0; i < 40 && got[0] !== got[1]; i++) {
      await page.waitForTimeout(50);
      got = await w();
    }
    assert.equal(got[0], got[1], `the canvas is ${got[0]} px wide in a card of ${got[1]}`);
    assert.ok(got[1] > 300, String(got[1]));
  });

  it('runs under a CSP without eval: no script error or Content-Security-Policy violation', async () => {
    assert.deepEqual(problems, []);
    const r = await page.request.get(page.url());
    assert.doesNotMatch(r.headers()['content-security-policy'], /unsafe-eval|unsafe-inline/);
    // The policy is in force (code from a string is refused), so the plots above were drawn without eval.
    // (A string given to setTimeout runs as the page's code; page.evaluate's own code would bypass CSP.)
    const violation = page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
          (setTimeout as (code: string, ms: number) => void)('document.body.dataset.evalRan = "yes"', 0);
        }),
    );
    assert.equal(await violation, 'script-src');
    assert.equal(await page.locator('body').getAttribute('data-eval-ran'), null);
  });
});
