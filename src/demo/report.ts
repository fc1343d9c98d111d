// The demo's outputs: summary.json (every method's figures, machine-readable) and report.html (one
// self-contained page that opens offline: inline SVG plots, the numbers table, sample outputs).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSVG } from '../eval/plot.js';
import { type MethodEval, type PartingPoint, partingPoint } from './evaluate.js';
import { type CurvePoint, type GroupRun, METHODS, type MethodName, type MethodsResult } from './methods.js';
import type { DemoContext } from './context.js';
import type { LabelsResult, RewardStageResult } from './labels-and-reward.js';

export interface DemoSummary {
  task: string;
  quick: boolean;
  seed: number;
  eval_prompts: number;
  methods: Record<MethodName, MethodEval>;
  reward_model: { accuracy_vs_gold: number; accuracy_vs_labels: number | null; gold_pairs: number; parameters: number };
  labelers: { agreement: number; between_labelers: number | null; comparisons: number };
  /**
   * How well each learner of the labels tells the better output of a held-out labeled pair: the reward
   * model by its scores, DPO by its implicit reward, Chain of Hindsight by log π(y | positive phrase) −
   * log π(y | negative phrase) (0.5: the phrases mean nothing to the model). The labels are noisy, so
   * the labelers' agreement with each other is the scale.
   */
  held_out_labels: { reward_model: number | null; dpo: number | null; hindsight: number | null };
  best_of_n: { n: number; curve: { n: number; kl: number; gold: number; proxy: number }[] };
  ppo: {
    curve: { iteration: number; kl: number; gold: number; proxy: number }[];
    seconds: Record<string, number>;
    parting: PartingPoint | null;
  };
  /** GRPO's and RLOO's runs: gold and proxy on each step's samples, the KL to SFT per token (0 with β 0). */
  grpo: GroupRun;
  rloo: GroupRun;
  /** The over-optimization run: PPO with no KL penalty, and where its gold and proxy part ways. */
  overoptimization: {
    curve: { iteration: number; kl: number; gold: number; proxy: number }[];
    parting: PartingPoint | null;
  };
  /** When the report was written (ISO time). */
  created_at: string;
}

const LABELS: Record<MethodName, string> = {
  sft: 'SFT',
  best_of_n: 'Best-of-N',
  ppo: 'PPO',
  grpo: 'GRPO',
  rloo: 'RLOO',
  rest: 'ReST',
  hindsight: 'Chain of Hindsight',
  dpo: 'DPO',
};

export async function writeReport(
  ctx: DemoContext,
  r: { labels: LabelsResult; reward: RewardStageResult; methods: MethodsResult },
): Promise<DemoSummary> {
  const { cfg, task } = ctx;
  const m = r.methods;
  const summary: DemoSummary = {
    task: task.name,
    quick: cfg.quick,
    seed: cfg.seed,
    eval_prompts: Math.min(cfg.evalPrompts, task.eval.length),
    methods: m.evaluation,
    reward_model: {
      accuracy_vs_gold: r.reward.accuracyVsGold,
      accuracy_vs_labels: r.reward.accuracyVsLabels,
      gold_pairs: r.reward.goldPairs,
      parameters: r.reward.parameters,
    },
    labelers: {
      agreement: r.labels.agreement.withGold,
      between_labelers: r.labels.agreement.betweenLabelers,
      comparisons: r.labels.comparisons,
    },
    held_out_labels: {
      reward_model: r.reward.accuracyVsLabels,
      dpo: m.dpo.eval['eval/rewards/accuracies'] ?? null,
      hindsight: m.hindsight.eval['eval/hindsight/accuracy'] ?? null,
    },
    best_of_n: {
      n: m.bestOfN,
      curve: m.curve
        .filter((p) => p.method === 'best_of_n')
        .map((p) => ({ n: p.step, kl: p.kl, gold: p.gold, proxy: p.proxy })),
    },
    ppo: { curve: run(m, 'ppo'), seconds: m.ppo.seconds, parting: parting(m, 'ppo') },
    grpo: m.grpo,
    rloo: m.rloo,
    overoptimization: { curve: run(m, 'ppo_no_kl'), parting: parting(m, 'ppo_no_kl') },
    created_at: new Date().toISOString(),
  };
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(cfg.outDir, 'report.html'), await reportHTML(ctx, summary, r));
  return summary;
}

function run(m: MethodsResult, method: 'ppo' | 'ppo_no_kl') {
  return m.curve
    .filter((p) => p.method === method)
    .map((p) => ({ iteration: p.step, kl: p.kl, gold: p.gold, proxy: p.proxy }));
}

/** A proxy rise under a quarter of the SFT samples' standard deviation is noise here. */
function parting(m: MethodsResult, method: 'ppo' | 'ppo_no_kl'): PartingPoint | null {
  return partingPoint(
    m.curve.filter((p) => p.method === method),
    m.sftStats.proxy.sd / 4,
  );
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const num = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');

const RUNS: Record<CurvePoint['method'], string> = {
  best_of_n: 'best-of-N',
  ppo: 'PPO',
  ppo_no_kl: 'PPO, no KL penalty',
};

async function plots(s: DemoSummary, m: MethodsResult): Promise<string[]> {
  const z = (x: number, st: { mean: number; sd: number }) => (st.sd > 0 ? (x - st.mean) / st.sd : 0);
  const points = (ps: CurvePoint[], x: 'kl' | 'step') =>
    ps.flatMap((p) => [
      { x: p[x], step: p.step, score: z(p.gold, m.sftStats.gold), run: RUNS[p.method], judge: 'gold' },
      {
        x: p[x],
        step: p.step,
        score: z(p.proxy, m.sftStats.proxy),
        run: RUNS[p.method],
        judge: 'proxy (reward model)',
      },
    ]);
  const split = s.overoptimization.parting;
  const overSVG = await lineChartSVG({
    title: 'Over-optimization: gold and proxy score against KL from SFT',
    x: { field: 'x', title: 'KL(policy ‖ SFT), nats (square-root scale)', sqrt: true },
    y: { field: 'score', title: 'score above SFT, in SFT standard deviations' },
    series: { field: 'run', title: 'run' },
    dash: { field: 'judge', title: 'judge' },
    order: 'step',
    rules: split?.parted ? [{ x: split.kl, label: `gold peaks (${RUNS.ppo_no_kl})` }] : [],
    data: points(m.curve, 'kl'),
  });
  const bars = METHODS.map((k) => ({ kl: s.methods[k].kl_to_sft, gold: s.methods[k].gold_score, series: LABELS[k] }));
  const frontierSVG = await lineChartSVG({
    title: 'Gold score of each method against its KL from SFT',
    x: { field: 'kl', title: 'KL(policy ‖ SFT), nats' },
    y: { field: 'gold', title: 'gold score (held-out prompts)' },
    series: { field: 'series', title: 'method' },
    data: bars,
  });
  const ppoSVG = await lineChartSVG({
    title: 'PPO training: rollouts’ gold and proxy score by iteration',
    x: { field: 'x', title: 'iteration' },
    y: { field: 'score', title: 'score above SFT, in SFT standard deviations' },
    series: { field: 'run', title: 'run' },
    dash: { field: 'judge', title: 'judge' },
    rules: split?.parted ? [{ x: split.step, label: `gold peaks (${RUNS.ppo_no_kl})` }] : [],
    data: points(
      m.curve.filter((p) => p.method !== 'best_of_n'),
      'step',
    ),
  });
  const groupSVG = await lineChartSVG({
    title: 'GRPO and RLOO training: gold and proxy score of each step’s samples',
    x: { field: 'x', title: 'step' },
    y: { field: 'score', title: 'score above SFT, in SFT standard deviations' },
    series: { field: 'run', title: 'run' },
    dash: { field: 'judge', title: 'judge' },
    data: (['grpo', 'rloo'] as const).flatMap((k) =>
      s[k].curve.flatMap((p) => [
        { x: p.step, score: z(p.gold, m.sftStats.gold), run: LABELS[k], judge: 'gold' },
        { x: p.step, score: z(p.proxy, m.sftStats.proxy), run: LABELS[k], judge: 'proxy (reward model)' },
      ]),
    ),
  });
  return [overSVG, frontierSVG, ppoSVG, groupSVG];
}

function overNote(s: DemoSummary): string {
  const p = s.overoptimization.parting;
  if (!p) return '';
  const head =
    `The over-optimization run is PPO against the same reward model with no KL penalty (it only draws the ` +
    `figure).`;
  if (!p.parted)
    return (
      `${head} After gold's highest point (${num(p.gold)} at KL ${num(p.kl, 1)}, iteration ${p.step}) the proxy ` +
      `did not rise by more than a quarter of the SFT samples' standard deviation: proxy and gold did not part ` +
      `ways in this run.`
    );
  return (
    `${head} Its gold score peaks at ${num(p.gold)} at KL ${num(p.kl, 1)} (iteration ${p.step}); from there to ` +
    `the end the proxy still rises by ${num(p.proxyChangeAfter)} while gold moves ${num(p.goldChangeAfter)}: ` +
    `that is where they part ways.`
  );
}

async function reportHTML(
  ctx: DemoContext,
  s: DemoSummary,
  r: { labels: LabelsResult; reward: RewardStageResult; methods: MethodsResult },
): Promise<string> {
  const { cfg, task } = ctx;
  const svgs = await plots(s, r.methods);
  const rows = METHODS.map((k) => {
    const e = s.methods[k];
    return (
      `<tr><th scope="row">${LABELS[k]}${k === 'best_of_n' ? ` (N = ${s.best_of_n.n})` : ''}</th>` +
      `<td>${num(e.gold_score)} ± ${num(e.gold_score_ci95)}</td><td>${pct(e.gold_win_rate_vs_sft)}</td>` +
      `<td>${pct(e.gold_win_rate_vs_reference)}</td>` +
      `<td>${num(e.kl_to_sft, 2)}${e.kl_kind === 'analytic' ? ' (analytic)' : ''}</td>` +
      `<td>${num(e.proxy_score)}</td><td>${num(e.mean_length, 1)}</td></tr>`
    );
  }).join('\n');
  const samples = r.methods.samples
    .map(
      (x) => `
<section class="sample"><h3>Prompt</h3><pre>${esc(x.prompt)}</pre>
<table><tr><th>Reference</th><td><pre>${esc(x.reference)}</pre></td><td></td></tr>
${METHODS.map(
  (k) =>
    `<tr><th>${LABELS[k]}</th><td><pre>${esc(x.outputs[k]?.text ?? '')}</pre></td><td>` +
    `${num(x.outputs[k]?.gold ?? NaN)}</td></tr>`,
).join('\n')}
</table></section>`,
    )
    .join('\n');
  const ag = r.labels.agreement;
  const perLabeler = Object.entries(ag.perLabeler)
    .map(([id, v]) => {
      const l = r.labels.labelers.find((x) => x.id === id);
      return (
        `<tr><th scope="row">${esc(id)}</th><td>${l ? num(l.beta, 1) : '—'}</td>` +
        `<td>${l ? pct(l.careless) : '—'}</td><td>${v.n}</td><td>${pct(v.withGold)}</td></tr>`
      );
    })
    .join('\n');
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rlhf demo: ${esc(task.name)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: 4px 8px; ` +
    `text-align: left; vertical-align: top; }
td { font-variant-numeric: tabular-nums; } pre { white-space: pre-wrap; margin: 0; font: inherit; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } .plots figure { margin: 0; } .sample { border-top: 1px ` +
    `solid #ddd; margin-top: 1em; }
.note { color: #555; }
</style></head><body>
<h1>rlhf demo: ${esc(task.name)}</h1>
<p>${esc(task.description)}. ` +
    `${cfg.quick ? '<strong>Quick run</strong> (a smoke test: too small for the numbers to mean much).' : 'Full run.'}
Every policy starts from the same SFT model; all are judged by the task's gold judge ` +
    `(<code>${esc(task.gold.name)}</code>) on ${s.eval_prompts} held-out prompts, one sample each at temperature 1.</p>

<h2 id="results">Results</h2>
<table id="results-table"><thead><tr><th>method</th><th>gold score (± 95%)</th><th>gold win rate vs SFT</th>` +
    `<th>gold win rate vs reference</th><th>KL to SFT (nats)</th><th>reward model score</th><th>mean length ` +
    `(tokens)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Reward model: accuracy against the gold judge's preferences <strong>${pct(s.reward_model.accuracy_vs_gold)}` +
    `</strong> (${s.reward_model.gold_pairs} fresh pairs of SFT samples on held-out prompts, gold ties left out);
against the held-out labels ${pct(s.reward_model.accuracy_vs_labels ?? NaN)}. The simulated labelers agree with ` +
    `gold ${pct(s.labelers.agreement)} of the time (a single labeler's accuracy, which a reward model trained ` +
    `on their labels approaches)
and with each other ${pct(s.labelers.between_labelers ?? NaN)}; ${s.labelers.comparisons} labels in all.</p>
<p id="held-out-labels">On the held-out labels, the learners of the labels pick the labeled winner this often: ` +
    `reward model ${pct(s.held_out_labels.reward_model ?? NaN)},
DPO's implicit reward ${pct(s.held_out_labels.dpo ?? NaN)}, Chain of Hindsight's phrases ` +
    `${pct(s.held_out_labels.hindsight ?? NaN)}
(log-likelihood under the positive phrase minus under the negative one; 50% means the model has not learned ` +
    `what the phrases mean).</p>

<h2 id="plots">Plots</h2>
<div class="plots">${svgs.map((svg) => `<figure>${svg}</figure>`).join('\n')}</div>
<p class="note">The over-optimization figure shows gold and proxy (reward model) scores in units of the SFT ` +
    `samples' standard deviation above their mean.
Where the proxy keeps rising while gold flattens or falls, the policy is exploiting the reward model's errors ` +
    `(Stiennon et al. 2020, Fig. 5; Gao et al. 2022).
Best-of-N's KL is the analytic log N − (N−1)/N; PPO's is measured on its rollouts.
${overNote(s)}</p>

<h2 id="labelers">Simulated labelers</h2>
<table><thead><tr><th>labeler</th><th>β (precision)</th><th>careless</th><th>labels</th><th>agreement with ` +
    `gold</th></tr></thead><tbody>
${perLabeler}
</tbody></table>

<h2 id="samples">Samples</h2>
${samples}
<p class="note">Made by <code>rlhf demo</code> on ${esc(s.created_at)}; figures in <code>summary.json</code>.</p>
</body></html>
`
  );
}
