// `rlhf export …`: what TRL and OpenRLHF read directly (docs/gpu-handoff.md): preference, prompt
// and SFT datasets as JSONL or Parquet, checkpoints in the Hugging Face layout, and what a PPO run
// would cost here against a GPU cluster.

import { Command, InvalidArgumentError } from 'commander';
import { totalmem } from 'node:os';
import { formatIssue, RecordIssue } from '../data/jsonl.js';
import { FORMAT_HELP, FORMAT_NAMES, FormatName } from '../data/read-comparisons.js';
import { ExportTable } from '../export/columns.js';
import {
  BENCH_PPO,
  CPU_SGEMM_PEAK,
  GPUS,
  PHASES,
  clusterUtilization,
  estimatePPO,
  formatDuration,
  measuredRates,
  parseCount,
} from '../export/cost-model.js';
import { OutputPlan, planOutput, writeTable } from '../export/dataset-file.js';
import { DTYPES, MODEL_KINDS, exportModel } from '../export/hf-model.js';
import { TARGETS, Target, preferenceFlags, preferenceTable } from '../export/preferences.js';
import {
  SourceRead,
  dedupe,
  promptFlags,
  promptTable,
  readPrompts,
  readSFTExamples,
  sftFlags,
  sftTable,
} from '../export/prompts.js';
import { loadCheckpoint, readCheckpointConfig } from '../model/checkpoint.js';
import { isAdapterDir } from '../model/peft.js';
import { parseByteSize } from '../model/weights.js';
import { countParameters, presetConfig, PRESETS } from '../model/config.js';
import { choiceArg, floatArg, intArg } from './args.js';
import { loadComparisons } from './inputs.js';

interface DatasetOpts {
  data: string;
  inputFormat?: FormatName;
  format: Target;
  out: string;
  parquet: boolean;
  evalFraction: number;
  chat: boolean;
}

const TRAINER = { trl: 'TRL', openrlhf: 'OpenRLHF' } as const;

function datasetOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--data <file>',
      'input: comparisons in any format `rlhf data` reads (our JSONL from `rlhf feedback export`, TRL, OpenAI, ' +
        'scored, VADER), {"prompt"} lines, or `rlhf sample --json` output',
    )
    .option(
      '--input-format <name>',
      `input format (default: detected): ${FORMAT_NAMES.map((f) => `${f} = ${FORMAT_HELP[f]}`).join('; ')}`,
      choiceArg(FORMAT_NAMES),
    )
    .option('--format <trainer>', 'whose dataset to write: trl or openrlhf', choiceArg(TARGETS), 'trl')
    .requiredOption(
      '--out <path>',
      'FILE.jsonl, FILE.parquet, or a directory (train.jsonl, and test.jsonl with --eval-fraction)',
    )
    .option('--parquet', 'with --out DIR: write train.parquet (and test.parquet) instead of JSONL', false)
    .option(
      '--eval-fraction <x>',
      'with --out DIR: this fraction of prompts (chosen by a hash of the prompt) goes to the test split',
      floatArg(0, 0.9),
      0,
    )
    .option(
      '--chat',
      'conversational form: lists of {"role", "content"} messages (HH-style "\\n\\nHuman: …\\n\\nAssistant:" ' +
        'texts are split into their turns)',
      false,
    );
}

function printIssues(path: string, issues: RecordIssue[], lines: number): void {
  for (const i of issues.slice(0, 10)) process.stderr.write(`skipped ${formatIssue(i)}\n`);
  if (issues.length > 10) process.stderr.write(`… and ${issues.length - 10} more\n`);
  if (issues.length) process.stderr.write(`${path}: ${issues.length} of ${lines} records could not be used\n`);
}

function readSource<T>(
  o: DatasetOpts,
  read: (p: string, f?: FormatName) => SourceRead<T>,
  what: string,
): SourceRead<T> {
  const r = read(o.data, o.inputFormat);
  printIssues(o.data, r.issues, r.lines);
  if (r.items.length === 0)
    throw new Error(`${o.data}: no usable ${what}${r.format ? ` (format ${r.format})` : ''}; nothing written`);
  process.stderr.write(
    `${o.data}: ${r.items.length} ${r.kind === 'comparisons' ? `comparisons (format ${r.format})` : 'records'}\n`,
  );
  return r;
}

/** Checked before any reading, so a bad --out fails at once. */
function outputPlan(o: DatasetOpts): OutputPlan {
  const plan = planOutput(o.out, { evalFraction: o.evalFraction, dirFormat: o.parquet ? 'parquet' : 'jsonl' });
  if (o.parquet && plan.kind === 'file')
    throw new Error(
      `--parquet is for --out DIR; for one file, name it ${o.out.replace(/\.(jsonl|parquet)$/i, '')}.parquet`,
    );
  return plan;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

async function write(
  o: DatasetOpts,
  plan: OutputPlan,
  table: ExportTable,
  flags: string[],
  notes: string[],
): Promise<void> {
  const files = await writeTable(table, plan, o.evalFraction);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  const cols = table.columns.map((c) => `${c.name} (${c.type})`).join(', ');
  process.stderr.write(
    `wrote ${files.map((f) => `${f.path} (${plural(f.rows, 'row')}${f.split ? `, ${f.split}` : ''})`).join(', ')}; ` +
      `columns ${cols}\n`,
  );
  if (flags.length) process.stderr.write(`${TRAINER[o.format]} flags for these columns: ${flags.join(' ')}\n`);
}

function chatNotes(plainPrompts: number, plainCompletions: number): string[] {
  const out: string[] = [];
  if (plainPrompts)
    out.push(
      `${plural(plainPrompts, 'prompt was', 'prompts were')} not in the HH dialogue layout ("\\n\\nHuman: ` +
        `…\\n\\nAssistant:") and became one user message each`,
    );
  if (plainCompletions)
    out.push(
      `${plural(plainCompletions, 'completion', 'completions')} did not start with a space (or held odd turns) ` +
        `and became one assistant message each`,
    );
  return out;
}

export function registerExport(program: Command): void {
  const ex = program
    .command('export')
    .description(
      'write what TRL and OpenRLHF read: preference, prompt and SFT datasets, Hugging Face checkpoints; ' +
        'estimate PPO cost here vs a GPU cluster',
    );

  datasetOptions(
    ex
      .command('preferences')
      .description(
        'preference pairs {"prompt", "chosen", "rejected", "margin"?}: TRL RewardTrainer/DPOTrainer, OpenRLHF ' +
          'train_rm/train_dpo',
      ),
  )
    .option('--margin', 'add a "margin" column: each record\'s margin, else its confidence (0..1), else 0', false)
    .action(async (o: DatasetOpts & { margin: boolean }) => {
      const plan = outputPlan(o);
      const cs = loadComparisons(o.data, o.inputFormat);
      const opts = { target: o.format, chat: o.chat, margin: o.margin };
      const { table, stats } = preferenceTable(cs, opts);
      const notes = chatNotes(stats.plainPrompts, stats.plainCompletions);
      if (stats.marginDropped)
        notes.push(
          `${plural(stats.marginDropped, 'pair has', 'pairs have')} a margin that was not written; pass ` +
            `--margin to export it`,
        );
      if (o.margin)
        notes.push(
          `margin from the record's margin ${stats.marginFrom.margin}, its confidence ` +
            `${stats.marginFrom.confidence}, 0 for ${stats.marginFrom.zero}`,
        );
      process.stderr.write(`${plural(stats.comparisons, 'comparison')} → ${plural(stats.pairs, 'pair')}\n`);
      await write(o, plan, table, preferenceFlags(opts), notes);
    });

  datasetOptions(
    ex
      .command('prompts')
      .description('prompt datasets for PPO/RLOO/GRPO: TRL {"prompt"}, OpenRLHF {"input"} (--input_key)'),
  )
    .option('--keep-duplicates', 'keep repeated prompts (by default each prompt is written once)', false)
    .action(async (o: DatasetOpts & { keepDuplicates: boolean }) => {
      const plan = outputPlan(o);
      const r = readSource(o, readPrompts, 'prompts');
      const { items, dropped } = o.keepDuplicates ? { items: r.items, dropped: 0 } : dedupe(r.items, (p) => p);
      const opts = { target: o.format, chat: o.chat };
      const { table, stats } = promptTable(items, opts);
      const notes = chatNotes(stats.plainPrompts, 0);
      if (dropped) notes.push(`${plural(dropped, 'repeated prompt')} written once (--keep-duplicates keeps them)`);
      await write(o, plan, table, promptFlags(opts), notes);
    });

  datasetOptions(
    ex
      .command('sft')
      .description(
        'supervised pairs: TRL {"prompt", "completion"}, OpenRLHF {"input", "output"}; from ' +
          '{"prompt","completion"} files or each comparison\'s best completion',
      ),
  )
    .option('--keep-duplicates', 'keep repeated (prompt, completion) pairs', false)
    .action(async (o: DatasetOpts & { keepDuplicates: boolean }) => {
      const plan = outputPlan(o);
      const r = readSource(o, readSFTExamples, 'prompt/completion pairs');
      const { items, dropped } = o.keepDuplicates
        ? { items: r.items, dropped: 0 }
        : dedupe(r.items, (e) => JSON.stringify([e.prompt, e.completion]));
      const opts = { target: o.format, chat: o.chat };
      const { table, stats } = sftTable(items, opts);
      const notes = chatNotes(stats.plainPrompts, stats.plainCompletions);
      if (r.kind === 'comparisons') notes.push('each comparison gave its best-ranked completion');
      if (dropped) notes.push(`${plural(dropped, 'repeated pair')} written once (--keep-duplicates keeps them)`);
      await write(o, plan, table, sftFlags(opts), notes);
    });

  ex.command('model')
    .description(
      'a checkpoint in the Hugging Face layout (GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, ' +
        'Qwen3ForCausalLM, or their *ForSequenceClassification) with its tokenizer files, for transformers, TRL, ' +
        'OpenRLHF and vLLM',
    )
    .requiredOption('--model <dir>', 'checkpoint directory (from `rlhf train …`)')
    .requiredOption('--out <dir>', 'directory to write (created)')
    .option(
      '--merge',
      'a LoRA run (an adapter directory, PEFT layout): fold the adapters into its base model and write the whole ' +
        'merged model',
      false,
    )
    .option(
      '--kind <kind>',
      'policy (*ForCausalLM, GPT2LMHeadModel) or reward (*ForSequenceClassification, num_labels 1); default: ' +
        'reward if the checkpoint has a score head',
      choiceArg(MODEL_KINDS),
    )
    .option('--dtype <dtype>', 'weights as float32, bfloat16 or float16', choiceArg(DTYPES), 'float32')
    .option(
      '--max-shard-size <size>',
      'split weights larger than this into model-0000i-of-0000N.safetensors shards with an index, as ' +
        "transformers' save_pretrained does: e.g. 2GB, 500MB, 1GiB (default 5GB, as there)",
      byteSizeArg,
    )
    .action((o) => {
      const adapter = isAdapterDir(o.model);
      if (adapter && !o.merge)
        throw new Error(
          `${o.model} is a LoRA adapter (PEFT's layout: PeftModel.from_pretrained loads it on its base model as ` +
            'it is); give --merge to write the whole model with the adapters folded in',
        );
      if (!adapter && o.merge) process.stderr.write(`note: ${o.model} is a whole model, there is nothing to merge\n`);
      const ck = loadCheckpoint(o.model); // an adapter's is merged into its base
      const r = exportModel(ck, o.out, { kind: o.kind, dtype: o.dtype, maxShardBytes: o.maxShardSize });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (r.dropped.length)
        process.stderr.write(
          `note: left out head(s) ${r.dropped.join(', ')}: a ${r.kind} model has no place for them\n`,
        );
      if (r.padTokenId !== null) {
        const vocabBefore = ck.model.config.vocabSize;
        process.stderr.write(
          `note: pad token "<|pad|>" has id ${r.padTokenId}, so the score is read at end-of-text as ` +
            `here${r.vocabSize > vocabBefore ? ` (vocab_size ${vocabBefore} → ${r.vocabSize})` : ''}\n`,
        );
      }
      const arch = r.architecture;
      process.stderr.write(
        `wrote ${r.dir}: ${arch}, ${r.parameters.toLocaleString('en-US')} parameters, ${r.dtype}; ` +
          `${r.files.join(', ')}\n`,
      );
    });

  ex.command('cost')
    .description(
      "estimate a PPO run here (from `rlhf bench`'s measured per-phase FLOP rates) against a GPU cluster (peak " +
        "FLOPs × OpenRLHF's measured utilization)",
    )
    .option('--params <n>', 'policy parameters, e.g. 124M, 1.5B (or give --model / --preset)')
    .option('--model <dir>', 'take the parameter count from a checkpoint')
    .option(
      '--preset <name>',
      `take it from a preset: ${Object.keys(PRESETS).join(', ')}`,
      choiceArg(Object.keys(PRESETS)),
    )
    .option('--reward-params <n>', "reward model parameters (default: the policy's)")
    .option(
      '--value-params <n>',
      "a separate value model (OpenRLHF's critic); default 0: a value head on the policy, as `rlhf train ppo`",
      '0',
    )
    .option('--prompt-tokens <n>', 'tokens per prompt', intArg(0), 64)
    .option('--response-tokens <n>', 'generated tokens per rollout', intArg(1), 64)
    .option('--rollouts <n>', 'rollouts per PPO iteration', intArg(1), 64)
    .option('--iterations <n>', 'PPO iterations', intArg(1), 1000)
    .option('--epochs <n>', 'PPO epochs per batch of rollouts', intArg(1), 4)
    .option(
      '--gpu <name>',
      `GPU: ${Object.entries(GPUS)
        .map(([k, g]) => `${k} = ${g.name}`)
        .join(', ')}`,
      choiceArg(Object.keys(GPUS)),
      'a100',
    )
    .option('--gpus <n>', 'GPUs in the cluster', intArg(1), 8)
    .option(
      '--utilization <u>',
      `end-to-end model-FLOPs utilization (default ${(clusterUtilization() * 100).toFixed(1)}%, from OpenRLHF's ` +
        `published 7B run)`,
      floatArg(1e-4, 1),
    )
    .option('--json', 'print one JSON object', false)
    .action((o) => {
      const given = [o.params, o.model, o.preset].filter((x) => x !== undefined).length;
      if (given !== 1) throw new Error('give exactly one of --params N, --model DIR or --preset NAME');
      const params =
        o.params !== undefined
          ? parseCount(o.params)
          : o.model !== undefined
            ? countParameters(readCheckpointConfig(o.model).config)
            : countParameters(presetConfig(o.preset));
      const run = {
        params,
        rewardParams: o.rewardParams !== undefined ? parseCount(o.rewardParams) : undefined,
        valueParams: parseCount(o.valueParams),
        promptTokens: o.promptTokens,
        responseTokens: o.responseTokens,
        rollouts: o.rollouts,
        iterations: o.iterations,
        epochs: o.epochs,
      };
      const e = estimatePPO(run, { gpus: o.gpus, gpu: GPUS[o.gpu], utilization: o.utilization });
      if (o.json) {
        process.stdout.write(
          JSON.stringify({
            run,
            flops: e.flops,
            here_seconds: e.here,
            here_best_seconds: e.hereBest,
            rates_flops_per_s: measuredRates(),
            state_bytes: e.stateBytes,
            memory_bytes: totalmem(),
            cluster: { ...e.cluster, gpu: o.gpu },
            speedup: e.speedup,
          }) + '\n',
        );
        return;
      }
      const rates = measuredRates();
      const num = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(2));
      const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GB`;
      const lines = [
        `PPO: ${params.toLocaleString('en-US')} parameters, ${run.rollouts} rollouts × (${run.promptTokens} + ` +
          `${run.responseTokens}) tokens, ${plural(run.epochs, 'epoch')}, ` +
          `${plural(run.iterations, 'iteration')}: ${e.flops.toExponential(2)} FLOPs`,
        `here, at the rates \`rlhf bench\` measured on its ` +
          `${BENCH_PPO.run.params.toLocaleString('en-US')}-parameter model: ${formatDuration(e.here.total)}`,
        ...PHASES.map(
          (p) =>
            `  ${p.padEnd(10)} ${formatDuration(e.here[p]).padStart(12)}  at ${(rates[p] / 1e9).toFixed(1)} GFLOP/s`,
        ),
        `here at best (every FLOP at the ${(CPU_SGEMM_PEAK / 1e9).toFixed(0)} GFLOP/s matrix-product peak): ` +
          `${formatDuration(e.hereBest)}`,
        `${e.cluster.gpus} × ${e.cluster.gpu.name} at ${(e.cluster.utilization * 100).toFixed(1)}% of ` +
          `${(e.cluster.gpu.peak / 1e12).toFixed(0)} TFLOP/s: ${formatDuration(e.cluster.seconds)} ` +
          `(${num(e.cluster.gpuHours)} GPU-hours), ${Math.round(e.speedup).toLocaleString('en-US')}× faster ` +
          `than the measured rates`,
      ];
      if (e.stateBytes > totalmem())
        lines.push(
          `does not fit here: ${gb(e.stateBytes)} of float32 weights and optimizer state before activations, ` +
            `${gb(totalmem())} of memory`,
        );
      if (e.cluster.seconds < 600)
        lines.push(
          'note: at this size a GPU run is dominated by start-up, loading and kernel launches, which the ' +
            'estimate leaves out; it is a lower bound',
        );
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function byteSizeArg(v: string): number {
  try {
    return parseByteSize(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
