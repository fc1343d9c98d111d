// `rlhf train …`: one subcommand per trainer.

import { Command } from 'commander';
import { defaultSFTConfig } from '../train/sft-config.js';
import { trainSFT } from '../train/sft.js';
import { PRESETS } from '../model/config.js';
import { choiceArg, floatArg, intArg } from './args.js';
import { addOptimOptions } from './optim-options.js';
import { registerRewardTraining } from './reward.js';
import { registerReST } from './rest.js';
import { registerDPO } from './dpo.js';
import { registerPPO } from './ppo.js';
import { registerRewardNormalize } from './reward-normalize.js';
import { registerHindsight } from './hindsight.js';

export function registerTrain(program: Command): void {
  const train = program
    .command('train')
    .description(
      'train a model: sft (language modeling), reward (reward model), rest (ReST against a reward model), dpo (DPO/IPO on comparisons), ppo (PPO against a reward model), hindsight (Chain of Hindsight on comparisons)',
    );
  const d = defaultSFTConfig;
  const sft = train
    .command('sft')
    .description(
      'pretrain on plain text (.txt, or JSONL {"text"}) or fine-tune on JSONL {"prompt","completion"} (loss on the completion only)',
    )
    .requiredOption('--data <file>', 'training data: .txt, .jsonl or .jsonl.gz')
    .requiredOption(
      '--out <dir>',
      'checkpoint directory to write (model.safetensors, config.json, tokenizer.json, metrics.jsonl)',
    )
    .option('--init <dir>', 'start from this checkpoint (weights and tokenizer) instead of a new model')
    .option(
      '--preset <name>',
      `size of a new model: ${Object.keys(PRESETS).join(', ')}`,
      choiceArg(Object.keys(PRESETS)),
      d.preset,
    )
    .option(
      '--tokenizer <path>',
      'tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe (default: train one on the data)',
    )
    .option('--vocab-size <n>', 'vocabulary size of a newly trained tokenizer', intArg(258), d.vocabSize)
    .option('--context <n>', 'training sequence length in tokens', intArg(2), d.contextLength)
    .option(
      '--eval-fraction <x>',
      'fraction held out for evaluation (by prompt hash)',
      floatArg(0, 0.99),
      d.evalFraction,
    );
  addOptimOptions(sft, d).action((o) => {
    const result = trainSFT({
      ...d,
      data: o.data,
      outDir: o.out,
      init: o.init,
      preset: o.preset,
      tokenizer: o.tokenizer,
      vocabSize: o.vocabSize,
      contextLength: o.context,
      batchSize: o.batchSize,
      steps: o.steps,
      lr: o.lr,
      warmupSteps: o.warmup,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip,
      evalEvery: o.evalEvery,
      saveEvery: o.saveEvery,
      evalFraction: o.evalFraction,
      seed: o.seed,
      resume: o.resume,
      quiet: o.quiet,
    });
    const ev = result.lastEval['eval/loss'];
    process.stdout.write(
      `sft: ${result.steps} steps, loss ${result.firstLoss.toFixed(3)} → ${result.finalLoss.toFixed(3)}` +
        `${ev !== undefined ? `, eval loss ${ev.toFixed(3)}` : ''}, ${Math.round(result.tokensPerSecond)} tokens/s; checkpoint in ${o.out}\n`,
    );
  });
  registerRewardTraining(train);
  registerReST(train);
  registerDPO(train);
  registerRewardNormalize(train);
  registerPPO(train);
  registerHindsight(train);
}
