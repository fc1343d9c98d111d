// The demo's methods, each from the same SFT policy, and their evaluation by the gold judge.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scoreWith } from '../train/reward-fn.js';
import { bestOfNKL } from '../train/best-of-n.js';
import { trainDPO } from '../train/dpo.js';
import { hindsightPrompt, trainHindsight } from '../train/hindsight.js';
import { trainGRPO } from '../train/grpo.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import type { PolicyGradientInputs, PolicyGradientStep } from '../train/policy-gradient.js';
import { PPOConfig, defaultPPOConfig, trainPPO } from '../train/ppo.js';
import { trainReST } from '../train/rest.js';
import { trainRLOO } from '../train/rloo.js';
import {
  MethodEval,
  fitPrompt,
  halfWidth95,
  judge,
  klToReference,
  mean,
  sampleCompletions,
  winRate,
} from './evaluate.js';
import { type DemoContext, loadPolicyDir, readComparisonsFile } from './context.js';

export const METHODS = ['sft', 'best_of_n', 'ppo', 'grpo', 'rloo', 'rest', 'hindsight', 'dpo'] as const;
export type MethodName = (typeof METHODS)[number];

/** One point of the over-optimization figure: gold and proxy score at a KL from the SFT policy. */
export interface CurvePoint {
  /** ppo_no_kl: the over-optimization run (PPO with no KL penalty). */
  method: 'best_of_n' | 'ppo' | 'ppo_no_kl';
  /** N for best-of-N, the iteration for PPO. */
  step: number;
  kl: number;
  gold: number;
  proxy: number;
}

export interface MethodsResult {
  evaluation: Record<MethodName, MethodEval>;
  curve: CurvePoint[];
  /** SFT samples' gold and proxy means and spreads: the curve's origin and its units. */
  sftStats: { gold: { mean: number; sd: number }; proxy: { mean: number; sd: number } };
  bestOfN: number;
  ppo: { seconds: Record<string, number>; finalKLCoef?: number };
  /** GRPO's and RLOO's training curves: gold and proxy on each step's samples, the KL per token. */
  grpo: GroupRun;
  rloo: GroupRun;
  rest: { meanReward: number[] };
  dpo: { eval: Record<string, number> };
  hindsight: { eval: Record<string, number> };
  /** Held-out prompts with every method's output, for the report. */
  samples: { prompt: string; reference: string; outputs: Record<MethodName, { text: string; gold: number }> }[];
}

/** A GRPO or RLOO run, as the demo watches it. */
export interface GroupRun {
  curve: { step: number; gold: number; proxy: number; klPerToken: number }[];
  seconds: Record<string, number>;
}

export async function runMethods(ctx: DemoContext): Promise<MethodsResult> {
  const { cfg, task, runner, log } = ctx;
  const sftDir = runner.dir('sft');
  const gen = { maxNewTokens: task.generation.maxNewTokens, stop: task.generation.stop };
  const evalPrompts = task.eval.slice(0, cfg.evalPrompts).map((e) => e.prompt);
  const references = task.eval.slice(0, cfg.evalPrompts).map((e) => e.reference);
  const trainPrompts = task.trainPrompts;
  const comps = () => ({
    train: readComparisonsFile(join(runner.dir('labels'), 'train.jsonl')),
    eval: readComparisonsFile(join(runner.dir('labels'), 'eval.jsonl')),
  });

  // ---- best-of-N: N samples of each eval prompt from SFT; the reward model picks ----
  const bon = await runner.run('best-of-n', async (dir) => {
    const { model, tok } = loadPolicyDir(sftDir);
    const maxN = Math.max(...cfg.bestOfN);
    const samples = await sampleCompletions(await ctx.generatorFor(model, tok), tok, evalPrompts, maxN, {
      ...gen,
      nPositions: model.config.nPositions,
      seed: cfg.seed + 31,
    });
    const flat = samples.flatMap((row, i) => row.map((s) => ({ prompt: evalPrompts[i], completion: s.text })));
    const proxy = await scoreWith(ctx.proxy(), flat);
    const gold = flat.map((x) => task.gold.score(x.prompt, x.completion));
    const curve: CurvePoint[] = cfg.bestOfN.map((n) => {
      let g = 0,
        p = 0;
      for (let i = 0; i < evalPrompts.length; i++) {
        let best = i * maxN;
        for (let j = 1; j < n; j++) if (proxy[i * maxN + j] > proxy[best]) best = i * maxN + j;
        g += gold[best];
        p += proxy[best];
      }
      return {
        method: 'best_of_n',
        step: n,
        kl: bestOfNKL(n),
        gold: g / evalPrompts.length,
        proxy: p / evalPrompts.length,
      };
    });
    const chosen = evalPrompts.map((_, i) => {
      let best = i * maxN;
      for (let j = 1; j < maxN; j++) if (proxy[i * maxN + j] > proxy[best]) best = i * maxN + j;
      return {
        text: flat[best].completion,
        gold: gold[best],
        proxy: proxy[best],
        tokens: samples[i][best - i * maxN].tokens.length,
      };
    });
    writeFileSync(join(dir, 'chosen.json'), JSON.stringify(chosen));
    // The SFT sample distribution (all N draws): the units of the over-optimization figure.
    const sd = (xs: number[]) => {
      const m = mean(xs);
      return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    };
    return {
      curve,
      chosen,
      n: maxN,
      sftStats: { gold: { mean: mean(gold), sd: sd(gold) }, proxy: { mean: mean(proxy), sd: sd(proxy) } },
    };
  });

  // ---- PPO, watching the gold judge on every iteration's rollouts; then the over-optimization run,
  // PPO with no KL penalty, only for the figure ----
  const ppoRun = (method: 'ppo' | 'ppo_no_kl', settings: Partial<PPOConfig>) => async (dir: string) => {
    const { model, tok } = loadPolicyDir(sftDir);
    const curve: CurvePoint[] = [];
    const r = await trainPPO(
      model,
      tok,
      trainPrompts,
      ctx.proxy(),
      {
        ...defaultPPOConfig,
        outDir: dir,
        ...settings,
        maxNewTokens: gen.maxNewTokens,
        stop: gen.stop,
        seed: cfg.seed,
      },
      log,
      (it) => {
        // The texts the proxy scored (cut at the task's stop strings): gold judges the same ones.
        const gold = it.completions.map((c, i) => task.gold.score(it.prompts[i], c));
        curve.push({ method, step: it.iteration, kl: it.kl, gold: mean(gold), proxy: mean(it.scores) });
      },
    );
    return { curve, seconds: r.seconds };
  };
  const ppo = await runner.run('ppo', ppoRun('ppo', cfg.ppo));
  const noKL = await runner.run(
    'overoptimization',
    // A constant learning rate: the run is to go far past gold's peak, not to settle.
    ppoRun('ppo_no_kl', { ...cfg.overoptimization, initKL: 0, targetKL: 0, lrSchedule: 'constant' }),
  );

  // ---- GRPO and RLOO: several samples of each training prompt, the others as the baseline; gold watched
  // on every step's samples as for PPO ----
  const watched =
    (
      train: (
        model: CausalLM,
        tok: Tokenizer,
        dir: string,
        inputs: PolicyGradientInputs,
      ) => Promise<{ seconds: Record<string, number> }>,
    ) =>
    async (dir: string): Promise<GroupRun> => {
      const { model, tok } = loadPolicyDir(sftDir);
      const curve: GroupRun['curve'] = [];
      const onStep = (s: PolicyGradientStep) => {
        const gold = s.completions.map((c, i) => task.gold.score(s.prompts[i], c));
        curve.push({ step: s.step, gold: mean(gold), proxy: mean(s.rewards), klPerToken: s.kl });
      };
      const r = await train(model, tok, dir, { onStep });
      return { curve, seconds: r.seconds };
    };
  const sampled = (dir: string) => ({
    outDir: dir,
    maxCompletionLength: gen.maxNewTokens,
    stop: gen.stop,
    seed: cfg.seed,
  });
  const grpo = await runner.run(
    'grpo',
    watched((model, tok, dir, inputs) =>
      trainGRPO(model, tok, trainPrompts, ctx.proxy(), { ...cfg.grpo, ...sampled(dir) }, log, inputs),
    ),
  );
  const rloo = await runner.run(
    'rloo',
    watched((model, tok, dir, inputs) =>
      trainRLOO(model, tok, trainPrompts, ctx.proxy(), { ...cfg.rloo, ...sampled(dir) }, log, inputs),
    ),
  );

  const rest = await runner.run('rest', async (dir) => {
    const { model, tok } = loadPolicyDir(sftDir);
    const grower = cfg.generator ? await ctx.generatorFor(model, tok) : undefined;
    const prompts = trainPrompts
      .slice(0, cfg.rest.prompts)
      .map((p) => fitPrompt(tok, p, model.config.nPositions, gen.maxNewTokens));
    const r = await trainReST(
      model,
      tok,
      prompts,
      ctx.proxy(),
      {
        ...cfg.rest,
        outDir: dir,
        // Grow's samples are cut, and scored, as the evaluation judges them.
        maxNewTokens: gen.maxNewTokens,
        stop: gen.stop,
        contextLength: cfg.contextLength,
        seed: cfg.seed,
      },
      log,
      { generator: grower },
    );
    return { meanReward: r.meanReward };
  });

  const hindsight = await runner.run('hindsight', (dir) => {
    const { model, tok } = loadPolicyDir(sftDir);
    const c = comps();
    const r = trainHindsight(model, tok, c.train, c.eval, { ...cfg.hindsight, outDir: dir, seed: cfg.seed }, log);
    return { eval: r.eval };
  });

  const dpo = await runner.run('dpo', (dir) => {
    const { model, tok } = loadPolicyDir(sftDir);
    const c = comps();
    const r = trainDPO(model, tok, c.train, c.eval, { ...cfg.dpo, outDir: dir, seed: cfg.seed }, log);
    return { eval: r.eval };
  });

  // ---- evaluation: one sample per held-out prompt from each policy, same seed ----
  const evaluation = await runner.run('evaluate', async (dir) => {
    const { model: sft, tok } = loadPolicyDir(sftDir);
    const proxyFn = ctx.proxy();
    const settings = { ...gen, nPositions: sft.config.nPositions, seed: cfg.seed + 97 };
    const policies: { name: Exclude<MethodName, 'best_of_n'>; dir: string; prompt: (p: string) => string }[] = [
      { name: 'sft', dir: sftDir, prompt: (p) => p },
      { name: 'ppo', dir: runner.dir('ppo'), prompt: (p) => p },
      { name: 'grpo', dir: runner.dir('grpo'), prompt: (p) => p },
      { name: 'rloo', dir: runner.dir('rloo'), prompt: (p) => p },
      { name: 'rest', dir: runner.dir('rest'), prompt: (p) => p },
      { name: 'hindsight', dir: runner.dir('hindsight'), prompt: (p) => hindsightPrompt(p, cfg.hindsight) },
      { name: 'dpo', dir: runner.dir('dpo'), prompt: (p) => p },
    ];
    const refGold = references.map((r, i) => task.gold.score(evalPrompts[i], r));
    const out = {} as Record<MethodName, MethodEval>;
    const texts = {} as Record<MethodName, { text: string; gold: number }[]>;
    let sftGold: number[] = [];
    for (const p of policies) {
      const model = p.name === 'sft' ? sft : loadPolicyDir(p.dir).model;
      const prompts = evalPrompts.map(p.prompt);
      const samples = (await sampleCompletions(await ctx.generatorFor(model, tok), tok, prompts, 1, settings)).map(
        (row) => row[0],
      );
      const j = judge(task.gold, evalPrompts, samples);
      if (p.name === 'sft') sftGold = j.gold;
      const proxy = await scoreWith(
        proxyFn,
        evalPrompts.map((prompt, i) => ({ prompt, completion: j.texts[i] })),
      );
      out[p.name] = {
        gold_score: mean(j.gold),
        gold_score_ci95: halfWidth95(j.gold),
        gold_win_rate_vs_sft: winRate(j.gold, sftGold),
        gold_win_rate_vs_reference: winRate(j.gold, refGold),
        kl_to_sft:
          p.name === 'sft' ? 0 : klToReference(model, sft, tok, prompts, evalPrompts, samples, gen.maxNewTokens),
        kl_kind: 'sampled',
        mean_length: mean(j.lengths),
        proxy_score: mean(proxy),
      };
      texts[p.name] = j.texts.map((text, i) => ({ text, gold: j.gold[i] }));
      log(
        `evaluate: ${p.name}: gold ${out[p.name].gold_score.toFixed(3)}, win vs SFT ` +
          `${(100 * out[p.name].gold_win_rate_vs_sft).toFixed(1)}%, KL ${out[p.name].kl_to_sft.toFixed(2)}`,
      );
    }
    const bg = bon.chosen.map((c) => c.gold);
    out.best_of_n = {
      gold_score: mean(bg),
      gold_score_ci95: halfWidth95(bg),
      gold_win_rate_vs_sft: winRate(bg, sftGold),
      gold_win_rate_vs_reference: winRate(bg, refGold),
      kl_to_sft: bestOfNKL(bon.n),
      kl_kind: 'analytic',
      mean_length: mean(bon.chosen.map((c) => c.tokens)),
      proxy_score: mean(bon.chosen.map((c) => c.proxy)),
    };
    texts.best_of_n = bon.chosen.map((c) => ({ text: c.text, gold: c.gold }));
    const samples = evalPrompts.slice(0, cfg.reportSamples).map((prompt, i) => ({
      prompt,
      reference: references[i],
      outputs: Object.fromEntries(
        Object.entries(texts).map(([k, v]) => [k, v[i]]),
      ) as MethodsResult['samples'][number]['outputs'],
    }));
    writeFileSync(join(dir, 'samples.json'), JSON.stringify(texts));
    return { evaluation: out, samples, generator: cfg.generator ?? 'built-in', scorer: cfg.scorer ?? 'built-in' };
  });

  return {
    evaluation: evaluation.evaluation,
    samples: evaluation.samples,
    curve: [...bon.curve, ...ppo.curve, ...noKL.curve],
    sftStats: bon.sftStats,
    bestOfN: bon.n,
    ppo: { seconds: ppo.seconds },
    grpo,
    rloo,
    rest,
    dpo,
    hindsight,
  };
}
