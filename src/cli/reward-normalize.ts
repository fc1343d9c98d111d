// `rlhf train reward-normalize`: sets a reward model's bias (and gain) so that its scores of the SFT
// policy's samples of the training prompts have mean 0 (and standard deviation 1), before PPO.

import type { Command } from 'commander';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { normalizeReward, rewardNormalizeOptions, saveNormalizedReward } from '../train/reward-normalize.js';
import { loadPolicy, loadPrompts } from './inputs.js';
import { addOptions, readOptions } from './options.js';

export function registerRewardNormalize(train: Command): void {
  const cmd = train
    .command('reward-normalize')
    .description(
      "normalize a reward model on the policy's samples (Stiennon et al.): its scores of them get mean 0 (and " +
        'std 1 with --std); saved in the reward checkpoint, used wherever it scores',
    )
    .requiredOption('--reward <dir>', 'reward model directory (from `rlhf train reward`)')
    .requiredOption('--policy <dir>', 'the policy PPO will start from (the SFT checkpoint)')
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …}: the training prompts of the PPO run')
    .option('--out <dir>', 'write the normalized reward model here instead of updating --reward in place');
  addOptions(cmd, rewardNormalizeOptions).action((o) => {
    const opts = readOptions(rewardNormalizeOptions, o);
    // A LoRA reward model stays an adapter (its base untouched); its bias and gain are saved beside it.
    const ck = loadCheckpoint(o.reward, { adapters: 'keep' });
    const rm = RewardModel.fromCheckpoint(ck);
    const policy = loadPolicy(o.policy);
    const prompts = loadPrompts(o.prompts);
    const before = { bias: rm.bias, gain: rm.gain };
    const fit = normalizeReward(rm, policy.model, policy.tokenizer, prompts, opts);
    const out = (o.out as string | undefined) ?? (o.reward as string);
    saveNormalizedReward(rm, out, ck, fit, { policy: o.policy, prompts: o.prompts, settings: opts });
    process.stdout.write(
      `reward-normalize: ${fit.samples} samples scored mean ${fit.mean.toFixed(4)}, std ${fit.std.toFixed(4)}; ` +
        `bias ${before.bias.toFixed(4)} → ${fit.bias.toFixed(4)}, gain ${before.gain.toFixed(4)} → ` +
        `${fit.gain.toFixed(4)}; saved in ${out}\n`,
    );
  });
}
