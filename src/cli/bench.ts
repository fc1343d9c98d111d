// `rlhf bench`: the project's performance benchmark, side by side with PyTorch.

import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { runBench } from '../bench/bench.js';
import { type ModelBenchResult, runModelBench } from '../bench/model-bench.js';
import { intArg } from './args.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("measure training and sampling speed of the reference model (and PyTorch's, when installed)")
    .option('--steps <n>', 'timed training steps (default 20; 3 with --model)', intArg(1))
    .option('--warmup <n>', 'untimed warm-up steps (default 3; 1 with --model)', intArg(0))
    .option('--sample-repeats <n>', 'timed sampling runs (batch × 127 new tokens each)', intArg(1), 2)
    .option('--score-pairs <n>', 'pairs scored by a reward model in the timed scoring run', intArg(1), 512)
    .option(
      '--threads <n>',
      'threads for PyTorch (ours: RLHF_THREADS, default all cores)',
      intArg(1),
      availableParallelism(),
    )
    .option('--model <path>', 'a checkpoint directory, or a config.json alone (random weights): time its shape')
    .option('--batch <n>', 'with --model: training and scoring batch', intArg(1), 4)
    .option('--seq <n>', 'with --model: tokens per training and scoring row', intArg(2), 256)
    .option('--sample-batch <n>', 'with --model: rows sampled at once', intArg(1), 4)
    .option('--prompt <n>', 'with --model: prompt tokens before sampling', intArg(1), 16)
    .option('--new-tokens <n>', 'with --model: tokens sampled per row', intArg(1), 64)
    .option('--skip-full', 'with --model: do not time full training (its optimizer state does not fit)', false)
    .option('--lora-rank <n>', "with --model: also time LoRA training of this rank, ours and PyTorch's", intArg(1))
    .option(
      '--lora-targets <list>',
      "with --model and --lora-rank: modules to adapt, comma-separated, or all-linear (default: PEFT's for the " +
        'architecture)',
      (s: string) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
    )
    .option('--no-torch', 'skip the PyTorch peer')
    .option('--json', 'print one JSON object', false)
    .action(async (o) => {
      const log = (m: string) => process.stderr.write(m + '\n');
      if (o.model) {
        const r = await runModelBench({ ...o, dir: o.model, steps: o.steps ?? 3, warmup: o.warmup ?? 1 }, log);
        process.stdout.write(o.json ? JSON.stringify(r) + '\n' : formatModelBench(r));
        return;
      }
      const r = await runBench(
        {
          steps: o.steps ?? 20,
          warmup: o.warmup ?? 3,
          torch: o.torch,
          threads: o.threads,
          sampleRepeats: o.sampleRepeats,
          scorePairs: o.scorePairs,
        },
        log,
      );
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const row = (name: string, ours: number, torch?: number, ratio?: number) =>
        `${name.padEnd(22)} ${String(ours).padStart(10)} ${String(torch ?? '—').padStart(10)} ` +
        `${ratio !== undefined ? ratio.toFixed(2) : '—'}`;
      const lines = [
        `${'metric'.padEnd(22)} ${'rlhf'.padStart(10)} ${'pytorch'.padStart(10)} ratio`,
        row('train tokens/s', r.train_tokens_per_s, r.torch_train_tokens_per_s, r.train_ratio),
        row('sample tokens/s', r.sample_tokens_per_s, r.torch_sample_tokens_per_s, r.sample_ratio),
        row('reward pairs/s', r.score_pairs_per_s),
        `PPO iteration (16 × 64 tokens, 4 epochs): generation ${r.ppo_iteration_seconds.generation}s, scoring ` +
          `${r.ppo_iteration_seconds.scoring}s, log-probs/values ${r.ppo_iteration_seconds.logprobs}s, training ` +
          `${r.ppo_iteration_seconds.training}s`,
        row('peak RSS (MB)', r.peak_rss_mb, r.torch_peak_rss_mb),
        `rlhf: ${r.threads} threads (data parallel), matrix products on ${r.backend} (${r.backend_detail})`,
        r.torch_version
          ? `pytorch: ${r.torch_version}, BLAS ${r.torch_blas}, ${r.torch_threads} threads`
          : `pytorch: ${r.torch_error ?? 'skipped'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function formatModelBench(r: ModelBenchResult): string {
  const row = (name: string, ours?: number, torch?: number, ratio?: number) =>
    `${name.padEnd(24)} ${String(ours ?? '—').padStart(10)} ${String(torch ?? '—').padStart(10)} ` +
    `${ratio !== undefined ? ratio.toFixed(2) : '—'}`;
  return (
    [
      `${r.family}, ${r.parameters.toLocaleString('en-US')} parameters, batch ${r.batch_size} × ${r.seq}`,
      `${'metric'.padEnd(24)} ${'rlhf'.padStart(10)} ${'pytorch'.padStart(10)} ratio`,
      row('train tokens/s', r.train_tokens_per_s, r.torch_train_tokens_per_s, r.train_ratio),
      ...(r.lora_train_tokens_per_s !== undefined
        ? [row('LoRA train tokens/s', r.lora_train_tokens_per_s, r.torch_lora_train_tokens_per_s, r.lora_train_ratio)]
        : []),
      row('sample tokens/s', r.sample_tokens_per_s, r.torch_sample_tokens_per_s, r.sample_ratio),
      row('sample bf16 tokens/s', r.sample_bf16_tokens_per_s, r.torch_sample_bf16_tokens_per_s, r.sample_bf16_ratio),
      row('score tokens/s', r.score_tokens_per_s, r.torch_score_tokens_per_s, r.score_ratio),
      row('peak RSS (MB)', r.peak_rss_mb, r.torch_peak_rss_mb),
      r.torch_version
        ? `pytorch ${r.torch_version}, ${r.torch_threads} threads`
        : `pytorch: ${r.torch_error ?? 'skipped'}`,
    ].join('\n') + '\n'
  );
}
