// The one training loop every trainer uses: learning-rate schedule, clipping, AdamW, evaluation,
// metrics.jsonl, checkpoints with optimizer state, resuming, and progress. runTraining drives it
// for trainers whose step is one batch; TrainingRun is the same loop in parts, for trainers whose
// updates come in between other work (PPO: rollouts, then epochs of minibatch updates).

import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EventFileWriter, metricScalars } from '../data/tfevents.js';
import { AdamW, clipGradNorm, learningRate } from '../engine/optim.js';
import { RNG, RNGState } from '../engine/rng.js';
import { Parameter } from '../engine/tensor.js';
import { setLoraStep } from '../model/lora.js';
import { type TrainerState, loadTrainingState, saveTrainingState } from '../model/checkpoint.js';
import type { OptimOptions } from './optim-options.js';
import { progress } from './progress.js';

/**
 * What the loop reads of the optimizer group (optim-options.ts, where each field is declared with
 * its flag, help and range); batch size, resume, quiet and gradient checkpointing (a setting of the
 * model) are the trainer's business.
 */
export type OptimConfig = Omit<
  OptimOptions,
  'batchSize' | 'resume' | 'quiet' | 'gradientCheckpointing' | 'tensorboard'
> & {
  /** A directory to write TensorBoard event files into as well as metrics.jsonl ('' or absent: none). */
  tensorboard?: string;
  /** Learning rate at the end of the cosine decay (default lr/10). */
  minLr?: number;
  /**
   * After warm-up: 'cosine' down to minLr (the default), 'linear' down to 0 at the end of the run
   * (lm-human-preferences' and TRL's PPO), or 'constant'.
   */
  schedule?: LrSchedule;
};

export type LrSchedule = 'cosine' | 'linear' | 'constant';
export const LR_SCHEDULES: readonly LrSchedule[] = ['cosine', 'linear', 'constant'];

/** The learning rate of 0-based step `step`: linear warm-up, then the configured decay. */
export function scheduledLr(step: number, c: OptimConfig): number {
  const schedule = c.schedule ?? 'cosine';
  if (schedule === 'cosine')
    return learningRate(step, { lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minLr: c.minLr });
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  if (schedule === 'constant') return c.lr;
  // lr·(1 − progress): the first step after warm-up takes lr, the last lr/span, the end of the run 0.
  const span = Math.max(1, c.steps - c.warmupSteps);
  return c.lr * Math.max(0, 1 - (step - c.warmupSteps) / span);
}

export function validateOptimConfig(c: OptimConfig): void {
  const check = (ok: boolean, field: string, want: string, got: unknown) => {
    if (!ok) throw new Error(`${field} must be ${want}, got ${got}`);
  };
  check(Number.isInteger(c.steps) && c.steps > 0, 'steps', 'a positive integer', c.steps);
  check(c.lr > 0, 'lr', '> 0', c.lr);
  check(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0, 'warmupSteps', 'a non-negative integer', c.warmupSteps);
  check(c.weightDecay >= 0, 'weightDecay', '≥ 0', c.weightDecay);
  check(c.gradClip >= 0, 'gradClip', '≥ 0', c.gradClip);
  check(c.evalEvery >= 0 && c.saveEvery >= 0, 'evalEvery/saveEvery', '≥ 0', `${c.evalEvery}/${c.saveEvery}`);
  check(
    c.schedule === undefined || LR_SCHEDULES.includes(c.schedule),
    'schedule',
    `one of ${LR_SCHEDULES.join(', ')}`,
    c.schedule,
  );
}

export interface StepResult {
  /** Loss of this batch (before the update). */
  loss: number;
  /** Tokens processed (for tokens/s). */
  tokens: number;
  /** Extra metrics, already namespaced (e.g. 'reward/accuracy'). */
  metrics?: Record<string, number>;
}

/** What a trainer gives the loop. */
export interface TrainTask {
  params: Parameter[];
  /** Forward and backward of one batch, accumulating into each parameter's .grad. */
  step(rng: RNG, step: number): StepResult;
  /** Held-out metrics, namespaced ('eval/loss', …). */
  evaluate?(): Record<string, number>;
  /** Writes the model files (weights, config, tokenizer) into dir. */
  save(dir: string): void;
}

export interface LoopOptions {
  outDir: string;
  /** Continue from outDir's optimizer and trainer state when present. */
  resume?: boolean;
  label?: string;
  quiet?: boolean;
  /** Extra fields stored in trainer_state.json. */
  stateExtra?: Record<string, unknown>;
  /** Stop (and save) after this many steps of the schedule, to be resumed later. */
  stopAfter?: number;
  /** Append to metrics.jsonl instead of starting it anew (trainers that run the loop several times). */
  appendMetrics?: boolean;
  /** Fields added to every metrics line (e.g. ReST's grow and improve step). */
  tags?: Record<string, number>;
  /**
   * An event file shared by several runs of the loop (ReST's Improve steps), and how many steps came
   * before this run in it; without it, the run opens its own when the config names a directory.
   */
  events?: { writer: EventFileWriter; stepOffset: number };
}

export interface LoopSummary {
  steps: number;
  startStep: number;
  finalLoss: number;
  firstLoss: number;
  lastEval: Record<string, number>;
  tokensPerSecond: number;
  seconds: number;
}

/** What TrainingRun needs of LoopOptions. */
export type RunOptions = Pick<LoopOptions, 'outDir' | 'resume' | 'appendMetrics' | 'events'>;

/** The fields of a metrics line that give its step, in the order looked for (PPO counts iterations). */
const STEP_FIELDS = ['step', 'iteration'] as const;

/**
 * The loop's state, in parts: the optimizer (with the state of a resumed run), the RNG, the
 * schedule, metrics.jsonl and the training state. A trainer calls update() after each batch's
 * backward pass, log() for each metrics line and saveState() beside its own model files.
 */
export class TrainingRun {
  readonly opt: AdamW;
  readonly rng: RNG;
  /** Steps taken before this process: from the resumed state, else 0. */
  readonly start: number;
  /** The trainer state resumed from (its extra fields are the trainer's), or null. */
  readonly resumed: TrainerState | null = null;
  readonly outDir: string;
  private readonly metricsFd: number;
  /** TensorBoard's copy of the metrics lines, when asked for; `ownEvents` when this run closes it. */
  private readonly events: EventFileWriter | null = null;
  private readonly ownEvents: boolean = false;
  private readonly stepOffset: number = 0;
  private lastStep = 0;

  constructor(
    readonly params: Parameter[],
    readonly cfg: OptimConfig,
    opts: RunOptions,
  ) {
    validateOptimConfig(cfg);
    this.outDir = opts.outDir;
    mkdirSync(opts.outDir, { recursive: true });
    this.opt = new AdamW(params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
    this.rng = new RNG(cfg.seed);
    this.start = 0;
    if (opts.resume) {
      const state = loadTrainingState(opts.outDir, this.opt);
      if (state) {
        this.resumed = state;
        this.start = state.step;
        if (state.rng) this.rng.setState(state.rng as RNGState);
      }
    }
    setLoraStep(params, this.start);
    const metricsPath = join(opts.outDir, 'metrics.jsonl');
    // NOTE: written synchronously, line by line: the loop never yields, so a stream would buffer it all.
    this.metricsFd = openSync(
      metricsPath,
      (this.start > 0 || opts.appendMetrics) && existsSync(metricsPath) ? 'a' : 'w',
    );
    if (opts.events) {
      this.events = opts.events.writer;
      this.stepOffset = opts.events.stepOffset;
    } else if (cfg.tensorboard) {
      this.events = openTensorBoard(cfg.tensorboard);
      this.ownEvents = true;
    }
  }

  /** Clips the gradients and applies step `step` (0-based) at its scheduled rate. */
  update(step: number): { lr: number; gradNorm: number } {
    const gradNorm = clipGradNorm(this.params, this.cfg.gradClip);
    const lr = scheduledLr(step, this.cfg);
    this.opt.update(lr);
    // The next step's LoRA dropout masks follow from its index, so a resumed run draws the same ones.
    setLoraStep(this.params, step + 1);
    return { lr, gradNorm };
  }

  /**
   * Appends one line to metrics.jsonl and, with --tensorboard, its numeric fields as scalars at its
   * step (its `step`, or PPO's `iteration`; plus the offset of a shared event file).
   */
  log(record: Record<string, unknown>): void {
    writeSync(this.metricsFd, JSON.stringify(record) + '\n');
    if (!this.events) return;
    const own = STEP_FIELDS.map((k) => record[k]).find((v) => typeof v === 'number');
    const step = typeof own === 'number' ? this.stepOffset + own : this.lastStep + 1;
    this.lastStep = step;
    this.events.scalars(step, metricScalars(record, STEP_FIELDS));
  }

  /** Saves the optimizer moments, the RNG and `step` (the trainer saves its model files itself). */
  saveState(step: number, extra: Record<string, unknown> = {}): void {
    saveTrainingState(this.outDir, this.opt, { step, rng: this.rng.getState(), ...extra });
  }

  close(): void {
    closeSync(this.metricsFd);
    if (this.ownEvents) this.events?.close();
  }
}

/** A new TensorBoard event file in dir (--tensorboard), or an error that names the flag. */
export function openTensorBoard(dir: string): EventFileWriter {
  try {
    return new EventFileWriter(dir);
  } catch (e) {
    throw new Error(
      `tensorboard (--tensorboard) ${dir}: cannot write an event file there (${(e as Error).message}); ` +
        'give a directory this user can write (it is created if missing)',
    );
  }
}

export function runTraining(task: TrainTask, cfg: OptimConfig, opts: LoopOptions): LoopSummary {
  const run = new TrainingRun(task.params, cfg, opts);
  const { opt, rng, start } = run;
  const bar = progress(opts.label ?? 'train', cfg.steps, { quiet: opts.quiet });
  let firstLoss = NaN,
    lastLoss = NaN,
    lastEval: Record<string, number> = {};
  let tokens = 0;
  const t0 = performance.now();
  const save = (step: number) => {
    task.save(opts.outDir);
    run.saveState(step, opts.stateExtra);
  };

  const end = Math.min(cfg.steps, opts.stopAfter ?? Infinity);
  for (let step = start; step < end; step++) {
    opt.zeroGrad();
    const res = task.step(rng, step);
    if (!Number.isFinite(res.loss)) {
      run.close();
      throw new Error(
        `training diverged at step ${step}: loss is ${res.loss}. HINT: lower --lr (now ${cfg.lr}) or keep ` +
          `--grad-clip on`,
      );
    }
    const { lr, gradNorm } = run.update(step);
    tokens += res.tokens;
    if (Number.isNaN(firstLoss)) firstLoss = res.loss;
    lastLoss = res.loss;
    const secs = (performance.now() - t0) / 1000;
    const record: Record<string, number> = {
      ...opts.tags,
      step: step + 1,
      'train/loss': res.loss,
      'train/lr': lr,
      'train/grad_norm': gradNorm,
      'train/tokens_per_s': tokens / secs,
      ...res.metrics,
    };
    const last = step + 1 === end;
    if (task.evaluate && ((cfg.evalEvery > 0 && (step + 1) % cfg.evalEvery === 0) || last)) {
      lastEval = task.evaluate();
      Object.assign(record, lastEval);
    }
    run.log(record);
    if ((cfg.saveEvery > 0 && (step + 1) % cfg.saveEvery === 0) || last) save(step + 1);
    bar.update(step + 1, { loss: res.loss, 'tok/s': Math.round(tokens / secs), ...pickEval(lastEval) });
  }
  bar.stop();
  run.close();
  const seconds = (performance.now() - t0) / 1000;
  return {
    steps: end,
    startStep: start,
    firstLoss,
    finalLoss: lastLoss,
    lastEval,
    tokensPerSecond: tokens / Math.max(seconds, 1e-9),
    seconds,
  };
}

function pickEval(e: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  if (e['eval/loss'] !== undefined) out['eval loss'] = e['eval/loss'];
  return out;
}
