// `rlhf train …`: one subcommand per trainer.

import type { Command } from 'commander';
import { sftOptions } from '../train/sft-config.js';
import { trainSFT } from '../train/sft.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor } from './inputs.js';
import { registerRewardTraining } from './reward.js';
import { registerReST } from './rest.js';
import { registerDPO } from './dpo.js';
import { registerPPO } from './ppo.js';
import { registerRewardNormalize } from './reward-normalize.js';
import { registerHindsight } from './hindsight.js';
import { registerGRPO } from './grpo.js';
import { registerRLOO } from './rloo.js';
import { registerKTO } from './kto.js';
import { registerOnlineDPO } from './online-dpo.js';

export function registerTrain(program: Command): void {
  const train = program
    .command('train')
    .description(
      'train a model: sft (language modeling), reward (reward model), rest (ReST against a reward model), dpo ' +
        '(DPO/IPO on comparisons), online-dpo (DPO on pairs it samples, judged by rewards), kto (KTO on thumbs ' +
        'up/down), ppo (PPO against a reward model), grpo and rloo (group baselines against rewards), hindsight ' +
        '(Chain of Hindsight on comparisons)',
    );
  const sft = train
    .command('sft')
    .description(
      'pretrain on plain text (.txt, or JSONL {"text"}), fine-tune on JSONL {"prompt","completion"} (loss on ' +
        'the completion only) or on conversations {"messages": [...]} (loss on the assistant turns only)',
    )
    .requiredOption('--data <file>', 'training data: .txt, .jsonl or .jsonl.gz')
    .requiredOption(
      '--out <dir>',
      'checkpoint directory to write (model.safetensors, config.json, tokenizer.json, metrics.jsonl)',
    )
    .option('--init <dir>', 'start from this checkpoint (weights and tokenizer) instead of a new model')
    .option(
      '--tokenizer <path>',
      'tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe (default: train one on the data)',
    )
    .option(...CHAT_TEMPLATE_FLAG);
  addOptions(sft, sftOptions).action((o) => {
    const cfg = readOptions(sftOptions, o);
    // The model's own template (or --chat-template) renders conversations, and stays with the checkpoint.
    const chatTemplate = loadChatTemplateFor(o.chatTemplate, [o.init, o.tokenizer, cfg.resume ? o.out : undefined]);
    writeTrainConfig('sft', sftOptions, o);
    const result = trainSFT({
      ...cfg,
      data: o.data,
      outDir: o.out,
      init: o.init,
      tokenizer: o.tokenizer,
      chatTemplate,
    });
    const ev = result.lastEval['eval/loss'];
    process.stdout.write(
      `sft: ${result.steps} steps, loss ${result.firstLoss.toFixed(3)} → ${result.finalLoss.toFixed(3)}` +
        `${ev !== undefined ? `, eval loss ${ev.toFixed(3)}` : ''}, ${Math.round(result.tokensPerSecond)} ` +
        `tokens/s; checkpoint in ${o.out}\n`,
    );
  });
  registerRewardTraining(train);
  registerReST(train);
  registerDPO(train);
  registerRewardNormalize(train);
  registerPPO(train);
  registerHindsight(train);
  registerGRPO(train);
  registerRLOO(train);
  registerKTO(train);
  registerOnlineDPO(train);
}
