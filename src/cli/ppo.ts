// `rlhf train ppo`: PPO against a reward model with a KL penalty to the starting policy.

import { Command } from 'commander';
import { loadRewardFn } from '../remote/reward-client.js';
import { defaultPPOConfig, trainPPO } from '../train/ppo.js';
import { floatArg, intArg } from './args.js';
import { loadPolicy, loadPrompts } from './inputs.js';

export function registerPPO(train: Command): void {
  const d = defaultPPOConfig;
  train
    .command('ppo')
    .description(
      'PPO against a reward model, reward = score − β·KL(policy ‖ reference) per token, value head on the policy trunk, GAE',
    )
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint); also the frozen reference')
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …}')
    .requiredOption(
      '--reward <dir|url>',
      'reward model directory (from `rlhf train reward`), or the URL of `rlhf serve-reward`',
    )
    .requiredOption('--out <dir>', 'checkpoint directory (policy with v_head, metrics.jsonl, summary.json)')
    .option('--iterations <n>', 'PPO iterations (a batch of rollouts each)', intArg(1), d.iterations)
    .option('--rollout-batch <n>', 'rollouts per iteration', intArg(1), d.rolloutBatch)
    .option('--minibatch <n>', 'rollouts per optimizer step', intArg(1), d.minibatch)
    .option('--ppo-epochs <n>', "passes over each iteration's rollouts", intArg(1), d.ppoEpochs)
    .option('--lr <x>', 'learning rate', floatArg(0), d.lr)
    .option('--init-kl <x>', 'initial KL coefficient β', floatArg(0), d.initKL)
    .option(
      '--target-kl <x>',
      'adaptive KL control target in nats per completion (0 = keep β fixed)',
      floatArg(0),
      d.targetKL,
    )
    .option('--horizon <n>', 'adaptive KL control horizon (Ziegler et al.)', intArg(1), d.horizon)
    .option('--gamma <x>', 'discount', floatArg(0, 1), d.gamma)
    .option('--lambda <x>', 'GAE λ', floatArg(0, 1), d.lambda)
    .option('--clip-range <x>', 'policy ratio clip ε', floatArg(0), d.clipRange)
    .option('--clip-range-value <x>', 'value clip', floatArg(0), d.clipRangeValue)
    .option('--vf-coef <x>', 'value loss coefficient', floatArg(0), d.vfCoef)
    .option('--ent-coef <x>', 'entropy bonus coefficient', floatArg(0), d.entCoef)
    .option(
      '--missing-eos-penalty <x>',
      'added to the score of a completion that never ends (e.g. -1)',
      floatArg(),
      d.missingEosPenalty,
    )
    .option('--score-clip <x>', 'clip scores to ±x (0 = off)', floatArg(0), d.scoreClip)
    .option('--whiten-rewards', 'whiten the per-token rewards (scale only) before GAE', false)
    .option('--max-new-tokens <n>', 'longest completion', intArg(1), d.maxNewTokens)
    .option('--temperature <x>', 'sampling temperature (KL estimates assume 1)', floatArg(0.01), d.temperature)
    .option('--seed <n>', 'random seed', intArg(0), d.seed)
    .option('--quiet', 'no progress output', false)
    .action(async (o) => {
      const ck = loadPolicy(o.init);
      const prompts = loadPrompts(o.prompts);
      if (o.minibatch > o.rolloutBatch)
        throw new Error(`--minibatch (${o.minibatch}) cannot exceed --rollout-batch (${o.rolloutBatch})`);
      const r = await trainPPO(
        ck.model,
        ck.tokenizer,
        prompts,
        loadRewardFn(o.reward),
        {
          ...d,
          outDir: o.out,
          iterations: o.iterations,
          rolloutBatch: o.rolloutBatch,
          minibatch: o.minibatch,
          ppoEpochs: o.ppoEpochs,
          lr: o.lr,
          initKL: o.initKl,
          targetKL: o.targetKl,
          horizon: o.horizon,
          gamma: o.gamma,
          lambda: o.lambda,
          clipRange: o.clipRange,
          clipRangeValue: o.clipRangeValue,
          vfCoef: o.vfCoef,
          entCoef: o.entCoef,
          missingEosPenalty: o.missingEosPenalty,
          scoreClip: o.scoreClip,
          whitenRewards: o.whitenRewards,
          maxNewTokens: o.maxNewTokens,
          temperature: o.temperature,
          seed: o.seed,
          quiet: o.quiet,
        },
        (m) => process.stderr.write(m + '\n'),
      );
      const n = r.scores.length,
        k = Math.min(3, n);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stdout.write(
        `ppo: ${n} iterations; mean score ${mean(r.scores.slice(0, k)).toFixed(3)} → ${mean(r.scores.slice(-k)).toFixed(3)} (first/last ${k}), KL ${r.kl[n - 1].toFixed(3)} nats; policy in ${o.out}\n`,
      );
    });
}
