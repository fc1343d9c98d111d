// The quick demo end to end (the CI smoke test of issue 6): every stage runs, every method's figures
// are in summary.json, report.html opens in a real browser with its plots and table, and a rerun
// resumes from the cache instead of training again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromiumMissing, launchChromium } from '../test-support/chromium.js';
import { demoConfig } from './config.js';
import { METHODS } from './methods.js';
import { loadPolicyDir, loadRewardModel } from './context.js';
import { runDemo } from './pipeline.js';
import { rewardModelFn } from '../train/reward-fn.js';
import { buildModelServer } from '../remote/model-server.js';
import { buildRewardServer } from '../remote/reward-server.js';

const out = mkdtempSync(join(tmpdir(), 'rlhf-demo-'));
const cfg = demoConfig({ task: 'positive', outDir: out, quick: true, seed: 0 });

test('the quick demo runs every stage and reports every method', { timeout: 600_000 }, async (t) => {
  const logs: string[] = [];
  const t0 = Date.now();
  const s = await runDemo(cfg, (m) => logs.push(m));
  t.diagnostic(`quick demo: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const file = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(file.methods, s.methods);
  for (const m of METHODS) {
    const e = file.methods[m];
    assert.ok(e, `summary.json lacks method ${m}`);
    for (const k of ['gold_score', 'gold_win_rate_vs_sft', 'gold_win_rate_vs_reference', 'kl_to_sft', 'mean_length']) {
      assert.equal(typeof e[k], 'number', `${m}.${k}`);
      assert.ok(Number.isFinite(e[k]), `${m}.${k} = ${e[k]}`);
    }
    assert.ok(e.gold_win_rate_vs_sft >= 0 && e.gold_win_rate_vs_sft <= 1);
  }
  assert.equal(file.methods.sft.gold_win_rate_vs_sft, 0.5, 'SFT against itself is a tie');
  assert.equal(file.methods.sft.kl_to_sft, 0);
  assert.ok(file.methods.ppo.kl_to_sft > -0.5, 'KL estimates are (nearly) non-negative');
  assert.ok(file.reward_model.accuracy_vs_gold >= 0 && file.reward_model.accuracy_vs_gold <= 1);
  assert.ok(
    file.labelers.agreement > 0.5,
    `labelers agree with gold more often than chance: ${file.labelers.agreement}`,
  );
  assert.equal(file.best_of_n.curve.length, cfg.bestOfN.length);
  assert.equal(file.ppo.curve.length, cfg.ppo.iterations);
  for (const k of ['grpo', 'rloo'] as const) {
    assert.equal(file[k].curve.length, cfg[k].steps, `${k}: one curve point per step`);
    for (const p of file[k].curve) assert.ok(Number.isFinite(p.gold) && Number.isFinite(p.proxy), k);
  }
  for (const k of ['reward_model', 'dpo', 'hindsight']) {
    const a = file.held_out_labels[k];
    assert.ok(typeof a === 'number' && a >= 0 && a <= 1, `held_out_labels.${k} = ${a}`);
  }
  assert.equal(file.overoptimization.curve.length, cfg.overoptimization.iterations);
  assert.ok(
    file.overoptimization.parting && Number.isFinite(file.overoptimization.parting.kl),
    'the over-optimization run says where gold peaks',
  );
  assert.ok(
    logs.some((l) => /about .* left/.test(l)),
    'progress tells the time left',
  );

  // A rerun resumes: every stage comes from the cache, with the same figures.
  const logs2: string[] = [];
  const s2 = await runDemo(cfg, (m) => logs2.push(m));
  const stages = Number(/^\[\d+\/(\d+)\]/.exec(logs2[logs2.length - 2] ?? '')?.[1] ?? NaN);
  assert.equal(logs2.filter((l) => / cached /.test(l)).length, stages, logs2.join('\n'));
  assert.deepEqual(s2.methods, s.methods);
});

test('a rerun under other settings is refused, naming what changed', async () => {
  await assert.rejects(
    runDemo({ ...cfg, seed: 1 }, () => {}),
    /other settings \(seed: 0 before, 1 now\).*--fresh/,
  );
});

test('a second demo in the same directory is refused while the first runs; a stale lock is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-demo-lock-'));
  try {
    writeFileSync(join(dir, 'demo.lock'), String(process.ppid));
    writeFileSync(join(dir, 'kept.txt'), "a running demo's output");
    await assert.rejects(
      runDemo({ ...cfg, outDir: dir }, () => {}),
      new RegExp(`another rlhf demo \\(pid ${process.ppid}\\) is running in`),
    );
    await assert.rejects(
      runDemo({ ...cfg, outDir: dir }, () => {}, { fresh: true }),
      /another rlhf demo/,
    );
    assert.ok(existsSync(join(dir, 'kept.txt')), '--fresh deletes nothing while another demo holds the directory');
    // A pid that is no longer running: the lock is stale, and the run goes ahead (refused only later, by its settings).
    writeFileSync(join(dir, 'demo.lock'), '999999999');
    writeFileSync(join(dir, 'demo.json'), JSON.stringify({ settings: { other: true } }));
    await assert.rejects(
      runDemo({ ...cfg, outDir: dir }, () => {}),
      /other settings/,
    );
    assert.ok(!existsSync(join(dir, 'demo.lock')), 'the lock is released after a failed run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report.html opens offline in Chromium with its plots, table and samples', async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.skip(missing);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    assert.ok((await page.locator('#plots ~ .plots svg').count()) >= 3, 'three SVG plots');
    assert.equal(await page.locator('#results-table tbody tr').count(), METHODS.length);
    const table = await page.locator('#results-table').innerText();
    for (const name of ['SFT', 'Best-of-N', 'PPO', 'ReST', 'Chain of Hindsight', 'DPO'])
      assert.ok(table.includes(name), name);
    assert.ok((await page.locator('.sample').count()) >= 1);
    assert.deepEqual(requests, [], 'the report loads nothing from the network');
  } finally {
    await browser.dispose();
  }
});

test(
  'the evaluation on remote servers that fail mid-run gives the same figures as the built-in engine',
  { timeout: 600_000 },
  async () => {
    // Our own servers on loopback: the policy server takes each method's weights; both drop some
    // requests (a connection cut, a 503) that the clients must retry.
    const { model, tok } = loadPolicyDir(join(out, 'sft'));
    const gen = buildModelServer(model, tok, { name: 'demo', acceptWeights: true });
    const scorer = buildRewardServer(rewardModelFn(loadRewardModel(join(out, 'reward'))));
    const faults = { gen: 0, scorer: 0 };
    let genCalls = 0,
      scorerCalls = 0;
    gen.addHook('onRequest', async (req, reply) => {
      if (req.url !== '/v1/completions') return;
      genCalls++;
      if (genCalls === 3) {
        faults.gen++;
        req.raw.socket.destroy();
      }
      if (genCalls === 6) {
        faults.gen++;
        return reply.code(503).send({ error: { message: 'overloaded' } });
      }
    });
    scorer.addHook('onRequest', async (req) => {
      if (req.url !== '/v1/score') return;
      if (++scorerCalls === 2) {
        faults.scorer++;
        req.raw.socket.destroy();
      }
    });
    const genUrl = await gen.listen({ port: 0, host: '127.0.0.1' });
    const scorerUrl = await scorer.listen({ port: 0, host: '127.0.0.1' });
    const copy = mkdtempSync(join(tmpdir(), 'rlhf-demo-remote-'));
    try {
      cpSync(out, copy, { recursive: true });
      for (const stage of ['best-of-n', 'evaluate', 'report']) rmSync(join(copy, stage), { recursive: true });
      const local = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      const logs: string[] = [];
      const s = await runDemo({ ...cfg, outDir: copy, generator: genUrl, scorer: scorerUrl }, (m) => logs.push(m));
      assert.ok(faults.gen === 2 && faults.scorer === 1, `faults injected: ${JSON.stringify(faults)}`);
      assert.ok(genCalls > 6 && scorerCalls > 2);
      for (const m of METHODS) {
        const [a, b] = [s.methods[m], local.methods[m]];
        // The same texts: the same gold scores, win rates and proxy scores.
        for (const k of ['gold_score', 'gold_win_rate_vs_sft', 'gold_win_rate_vs_reference', 'proxy_score'] as const) {
          assert.ok(Math.abs(a[k] - b[k]) < 1e-9, `${m}.${k}: remote ${a[k]}, local ${b[k]}`);
        }
        // The KL is measured on the texts encoded again (a server sends no token ids), which need not be
        // the token path that was sampled: an estimate of its own, not the same number.
        assert.ok(
          Number.isFinite(a.kl_to_sft) && (m === 'sft' ? a.kl_to_sft === 0 : a.kl_to_sft > -0.5),
          `${m}.kl_to_sft: remote ${a.kl_to_sft}, local ${b.kl_to_sft}`,
        );
      }
      assert.equal(JSON.parse(readFileSync(join(copy, 'evaluate', 'stage.json'), 'utf8')).result.generator, genUrl);
    } finally {
      await gen.close();
      await scorer.close();
      rmSync(copy, { recursive: true, force: true });
    }
  },
);
