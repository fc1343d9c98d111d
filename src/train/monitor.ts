// The over-optimization monitor every online trainer shares (PPO, GRPO, RLOO, online DPO, ReST). Every
// few steps it samples held-out prompts from the policy (one completion each, temperature 1, the same
// seed every time so that steps differ by the policy only) and records the proxy's mean score, the KL to
// the reference, the mean length, the share that stop by themselves, watch-only rewards and signals that
// do not come from the proxy (monitor-signals.ts). The parting rule of src/objectives/parting.ts, read
// after each evaluation, says when the proxy still rises while the chosen signal has fallen from its
// peak; best/ keeps the checkpoint where that signal's moving mean peaked (monitor-best.ts).

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../model/causal-lm.js';
import type { ChatMessage, ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type PartingPoint, partingPoint } from '../objectives/parting.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { type Completion, LocalGenerator, cutAtStop } from './generator.js';
import { BestKeeper } from './monitor-best.js';
import { MONITOR_SIGNALS, type MonitorOptions } from './monitor-options.js';
import type { MonitorSamples, MonitorSignal, SignalContext } from './monitor-signals.js';
import { type PromptRow, sampleScored, turnStops } from './prompt-samples.js';
import { type ReferencePolicy, frozenReference } from './reference.js';
import type { RewardSet } from './reward-fn.js';

export const MONITOR_FILE = 'monitor.jsonl';
export const BEST_DIR = 'best';

/** What the CLI builds from the flags: the options, the held-out prompts, the signals and the watch-only rewards. */
export interface MonitorSetup {
  options: MonitorOptions;
  /** The held-out prompts (at most options.monitorLimit). */
  prompts: PromptRow[];
  /** Signals independent of the proxy. */
  signals: MonitorSignal[];
  /** Rewards logged as monitor/reward/NAME, never optimized. */
  watch: RewardSet | null;
}

/** What a trainer gives the monitor. */
export interface MonitorTarget {
  /** The trainer, in messages ('ppo'). */
  trainer: string;
  /** What a step is, in messages ('iteration'). */
  unit: string;
  policy: CausalLM;
  tok: Tokenizer;
  /** The reward being optimized. */
  proxy: RewardSet;
  outDir: string;
  seed: number;
  maxNewTokens: number;
  stop: string[];
  chatTemplate?: ChatTemplate | null;
  /** The trainer's frozen reference; without one, the monitor freezes a copy of the policy as it is at create(). */
  reference?: ReferencePolicy;
  /** Writes the policy's files into dir as the run's final checkpoint is written (loadable the same way). */
  save(dir: string): void;
  log(m: string): void;
}

/** One evaluation: its metrics (named monitor/…) and whether the run should stop (--stop-when-parting). */
export interface MonitorObservation {
  metrics: Record<string, number>;
  stop: boolean;
}

export interface MonitorSummary {
  /** The signal that decides best/ and parting (null when none was given). */
  signal: string | null;
  /** The step best/ holds, and the signal's moving mean there. */
  bestStep: number | null;
  bestValue: number | null;
  /** The parting rule over the whole run. */
  parting: PartingPoint | null;
  /** The first step at which the rule said the two had parted, and where the run stopped for it. */
  partedAt: number | null;
  stoppedAt: number | null;
  evaluations: number;
}

/** The signal that decides: --monitor-signal, else the first independent signal given, else the first watch reward. */
export function decidingSignal(o: MonitorOptions, signals: MonitorSignal[], watch: RewardSet | null): string | null {
  const names = [...signals.map((s) => s.name), ...(watch?.names ?? []).map((n) => `reward/${n}`)];
  if (o.monitorSignal) {
    if (!names.includes(o.monitorSignal))
      throw new Error(
        `monitorSignal (--monitor-signal) is "${o.monitorSignal}", which this run does not measure; give one of ` +
          (names.length
            ? names.join(', ')
            : '(none: add --monitor-pairs, --judge, --monitor-holdout-reward, --monitor-ensemble or --monitor-reward)'),
      );
    return o.monitorSignal;
  }
  return MONITOR_SIGNALS.find((n) => names.includes(n)) ?? names[0] ?? null;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const sd = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
};

interface Point {
  step: number;
  metrics: Record<string, number>;
}

export class Monitor {
  private readonly points: Point[] = [];
  private readonly best: BestKeeper;
  private readonly signalName: string | null;
  private referenceTexts: string[] | undefined;
  private partedAt: number | null = null;
  private stoppedAt: number | null = null;
  private readonly reference: ReferencePolicy;

  private constructor(
    readonly setup: MonitorSetup,
    readonly target: MonitorTarget,
    start: number,
  ) {
    const o = setup.options;
    this.signalName = decidingSignal(o, setup.signals, setup.watch);
    // Frozen now, before training (or a resumed run's weights) changes the policy.
    this.reference = target.reference ?? frozenReference(target.policy, target.tok);
    const dir = this.direction();
    this.best = new BestKeeper(target.outDir, target.save, (step, value) => ({
      step,
      unit: target.unit,
      signal: this.signalName,
      moving_mean: dir * value,
    }));
    const path = join(target.outDir, MONITOR_FILE);
    if (start === 0) {
      this.best.clear();
      writeFileSync(path, '');
    } else {
      // A resumed run keeps the evaluations up to where it resumes; the ones after are taken again.
      const kept = existsSync(path)
        ? readFileSync(path, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { step: number } & Record<string, number>)
            .filter((r) => r.step <= start)
        : [];
      for (const { step, ...metrics } of kept) this.points.push({ step, metrics });
      this.partedAt = this.points.find((p) => p.metrics['monitor/parted'] === 1)?.step ?? null;
      writeFileSync(path, kept.map((r) => JSON.stringify(r) + '\n').join(''));
      this.best.resume(
        this.signalValues(),
        this.points.map((p) => p.step),
      );
    }
  }

  /**
   * Starts monitoring `target` (call before any training, and before a resumed run puts its weights back:
   * the reference, and the reference's samples a pairwise judge compares with, are taken now).
   * `start` is the step a resumed run continues after (0 for a new run).
   */
  static async create(setup: MonitorSetup, target: MonitorTarget, start = 0): Promise<Monitor> {
    if (setup.prompts.length === 0) throw new Error('the monitor needs held-out prompts (--monitor-prompts)');
    const m = new Monitor(setup, target, start);
    if (setup.signals.some((s) => s.needsReference)) {
      // The starting policy's own samples of the held-out prompts, with another seed than the policy's.
      m.referenceTexts = (await m.sample(target.seed + 4099)).texts;
    }
    const names = [...setup.signals.map((s) => s.name), ...(setup.watch?.names ?? []).map((n) => `reward/${n}`)];
    target.log(
      `${target.trainer}: monitor: ${setup.prompts.length} held-out prompts every ${setup.options.monitorEvery} ` +
        `${target.unit}s; signals ${names.join(', ') || '(none)'}` +
        (m.signalName
          ? `; ${m.signalName} decides best/ and parting`
          : '; no signal independent of the proxy: no best/ and no parting'),
    );
    return m;
  }

  /** Whether step `step` (1-based, after its update) is evaluated: every monitorEvery, and the last. */
  due(step: number, last: boolean): boolean {
    return last || step % this.setup.options.monitorEvery === 0;
  }

  /** Whether an evaluation of `step` is already recorded (a resumed run's step 0). */
  has(step: number): boolean {
    return this.points.some((p) => p.step === step);
  }

  /** Samples the held-out prompts once (the proxy scores them) with the built-in engine on the policy. */
  private async sample(seed: number) {
    const t = this.target;
    const stops = turnStops(t.stop, t.chatTemplate);
    const gen = new LocalGenerator(t.policy, t.tok, { batchSize: 64 });
    const decode = (c: Completion) => {
      const text = cutAtStop(c.text, stops);
      const stopped = c.finishReason === 'stop';
      return { text, ids: c.tokenIds ?? [...t.tok.encode(text), ...(stopped ? [t.tok.eosId] : [])], finished: stopped };
    };
    return sampleScored(
      gen,
      t.policy,
      t.tok,
      this.setup.prompts,
      t.proxy,
      { n: 1, seed, generation: { maxNewTokens: t.maxNewTokens, temperature: 1, stop: stops } },
      0,
      t.chatTemplate ?? null,
      decode,
    );
  }

  /** 1 when the deciding signal is better higher, −1 when lower (a disagreement). */
  private direction(): 1 | -1 {
    return this.setup.signals.find((s) => s.name === this.signalName)?.direction ?? 1;
  }

  /** The deciding signal's values, oriented so that higher is better, one per evaluation. */
  private signalValues(): number[] {
    if (!this.signalName) return [];
    const dir = this.direction();
    return this.points.map((p) => dir * p.metrics[`monitor/${this.signalName}`]);
  }

  /** The parting rule over the evaluations so far. */
  private parting(): PartingPoint | null {
    if (!this.signalName || this.points.length < 3) return null;
    const values = this.signalValues();
    const sd0 = this.points[0].metrics['monitor/proxy_std'] ?? 0;
    return partingPoint(
      this.points.map((p, i) => ({
        step: p.step,
        kl: p.metrics['monitor/kl'],
        gold: values[i],
        proxy: p.metrics['monitor/proxy'],
      })),
      this.setup.options.monitorMinRise * sd0,
    );
  }

  /** Evaluates the policy as it is after step `step` (0: the starting policy). */
  async observe(step: number): Promise<MonitorObservation> {
    const t = this.target;
    const s = await this.sample(t.seed + 8191);
    const tok = t.tok;
    const vocab = { vocabSize: tok.vocabSize };
    const policyLogProbs = (pairs: TokenPair[]) => completionLogProbs(t.policy, pairs, tok.eosId, vocab);
    const referenceLogProbs = (pairs: TokenPair[]) => this.reference.logProbs(pairs);
    const lp = policyLogProbs(s.pairs),
      lr = referenceLogProbs(s.pairs);
    const kl = mean(lp.map((row, i) => row.reduce((a, x, j) => a + x - lr[i][j], 0)));
    const metrics: Record<string, number> = {
      'monitor/proxy': mean(s.scores),
      'monitor/proxy_std': sd(s.scores),
      'monitor/kl': kl,
      'monitor/length': mean(s.pairs.map((p) => p.completion.length)),
      'monitor/stop_rate': mean(s.finished.map((f) => (f ? 1 : 0))),
    };
    const rows = this.setup.prompts;
    const samples: MonitorSamples = {
      prompts: s.prompts,
      messages: rows.map((r) => (typeof r.prompt === 'string' ? undefined : (r.prompt as ChatMessage[]))),
      columns: rows.map((r) => r.columns),
      texts: s.texts,
      referenceTexts: this.referenceTexts,
    };
    const ctx: SignalContext = { tok, nPositions: t.policy.config.nPositions, policyLogProbs, referenceLogProbs };
    for (const sig of this.setup.signals) {
      const v = await sig.measure(samples, ctx);
      metrics[`monitor/${sig.name}`] = v.value;
      for (const [k, x] of Object.entries(v.extra ?? {})) metrics[`monitor/${k}`] = x;
    }
    if (this.setup.watch) {
      const w = await this.setup.watch.score(
        samples.texts.map((completion, i) => ({
          prompt: samples.prompts[i],
          completion,
          columns: samples.columns[i],
          ...(samples.messages[i] && { messages: samples.messages[i] }),
        })),
      );
      for (const [name, xs] of Object.entries(w.perFunction)) metrics[`monitor/reward/${name}`] = mean(xs);
    }
    this.points.push({ step, metrics });
    this.best.observe(
      this.signalValues(),
      this.points.map((q) => q.step),
    );
    const p = this.parting();
    const parted = p?.parted ?? false;
    if (this.best.step !== null) metrics['monitor/best_step'] = this.best.step;
    metrics['monitor/parted'] = parted ? 1 : 0;
    writeFileSync(join(t.outDir, MONITOR_FILE), JSON.stringify({ step, ...metrics }) + '\n', { flag: 'a' });
    const sig = this.signalName;
    t.log(
      `${t.trainer}: monitor at ${t.unit} ${step}: proxy ${metrics['monitor/proxy'].toFixed(3)}, KL ` +
        `${kl.toFixed(2)}, length ${metrics['monitor/length'].toFixed(1)}, stop ` +
        `${(100 * metrics['monitor/stop_rate']).toFixed(0)}%` +
        Object.entries(metrics)
          .filter(([k]) => !/^monitor\/(proxy|proxy_std|kl|length|stop_rate|best_step|parted)$/.test(k))
          .map(([k, v]) => `, ${k.slice('monitor/'.length)} ${v.toFixed(3)}`)
          .join(''),
    );
    if (parted && p && sig && this.partedAt === null) {
      this.partedAt = step;
      t.log(
        `${t.trainer}: monitor: WARNING: over-optimization: the proxy rose ${p.proxyChangeAfter.toFixed(3)} since ` +
          `${t.unit} ${p.step} while ${sig} ${this.direction() > 0 ? 'fell' : 'rose'} ` +
          `${Math.abs(p.goldChangeAfter).toFixed(3)} from its best there ` +
          `(3-point moving means); what the policy still gains is the proxy's errors. best/ holds ${t.unit} ` +
          `${this.best.step ?? p.step}` +
          (this.setup.options.stopWhenParting
            ? '; stopping (--stop-when-parting)'
            : '; --stop-when-parting stops here'),
      );
    }
    const stop = parted && this.setup.options.stopWhenParting;
    if (stop) this.stoppedAt = step;
    return { metrics, stop };
  }

  /**
   * The summary of the run's monitoring. When the run is `complete` (it reached its end, or stopped for
   * parting), best/ gets the last evaluation if that one is the best, and the waiting checkpoint goes; a run
   * stopped to be resumed keeps it.
   */
  finish(complete = true): MonitorSummary {
    if (complete) this.best.finish(this.signalValues(), this.points.at(-1)?.step ?? null);
    const summary: MonitorSummary = {
      signal: this.signalName,
      bestStep: this.best.step,
      bestValue: this.best.value === null ? null : this.direction() * this.best.value,
      parting: this.parting(),
      partedAt: this.partedAt,
      stoppedAt: this.stoppedAt,
      evaluations: this.points.length,
    };
    if (!complete) return summary;
    if (summary.bestStep !== null)
      this.target.log(
        `${this.target.trainer}: monitor: best/ holds ${this.target.unit} ${summary.bestStep}, where ` +
          `${this.signalName} was best (3-point moving mean ${summary.bestValue?.toFixed(3)})`,
      );
    rmSync(join(this.target.outDir, 'monitor'), { recursive: true, force: true });
    return summary;
  }
}
