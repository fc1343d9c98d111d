// The over-optimization monitor's options, declared once (src/train/options.ts): the flags of every
// online trainer (`train ppo`, `grpo`, `rloo`, `online-dpo`, `rest`) and of `rlhf sample --best-of` come
// from here. The monitor is off unless --monitor-prompts is given.

import { type ValuesOf, defineOptions } from './options.js';

/**
 * The independent signals, in the order the default --monitor-signal picks the first one given: people's own
 * held-out labels first, then a different model (the judge), then reward models trained like the proxy,
 * which can share its errors (measured on the demo's task: docs/training.md, "Watching for over-optimization").
 */
export const MONITOR_SIGNALS = ['pref_accuracy', 'judge_win_rate', 'holdout_reward', 'ensemble_std'] as const;
export type MonitorSignalName = (typeof MONITOR_SIGNALS)[number];

export const monitorOptions = defineOptions(
  {
    monitorPrompts: {
      type: 'string',
      flag: '--monitor-prompts',
      arg: '<file>',
      help:
        'JSONL of held-out prompts {"prompt": …} (the trainer\'s prompt formats) the monitor samples every ' +
        '--monitor-every steps; turns the over-optimization monitor on (docs/training.md, "Watching for ' +
        'over-optimization")',
      default: '',
    },
    monitorEvery: {
      type: 'int',
      flag: '--monitor-every',
      help:
        "monitor every n steps of the trainer's unit (PPO iterations, GRPO/RLOO/online-DPO steps, ReST Improve " +
        'steps), and before the first and after the last',
      default: 5,
      min: 1,
    },
    monitorLimit: {
      type: 'int',
      flag: '--monitor-limit',
      help: 'use at most the first n held-out prompts and the first n held-out comparisons',
      default: 512,
      min: 1,
    },
    monitorHoldoutReward: {
      type: 'string',
      flag: '--monitor-holdout-reward',
      arg: '<dir|url|module>',
      help:
        'a second reward (same kinds as --reward), trained on comparisons the proxy never saw (`rlhf train reward ' +
        '--split-holdout` writes one): signal monitor/holdout_reward, its mean on the samples',
      default: '',
    },
    monitorPairs: {
      type: 'string',
      flag: '--monitor-pairs',
      arg: '<file>',
      help:
        "held-out human comparisons (any comparison format): signal monitor/pref_accuracy, how often the policy's " +
        'log-likelihood ratio to the reference ranks the labeled winner first (0.5 at the start)',
      default: '',
    },
    monitorEnsemble: {
      type: 'string',
      flag: '--monitor-ensemble',
      arg: '<dir>',
      help:
        'a reward-model ensemble directory (`rlhf train reward --ensemble K`): signal monitor/ensemble_std, the ' +
        "members' mean disagreement (standard deviation of their rewards) on the samples; lower is better",
      default: '',
    },
    judge: {
      type: 'string',
      flag: '--judge',
      arg: '<url>',
      help:
        'an OpenAI-compatible chat completions server (http://host:port/v1): signal monitor/judge_win_rate, how ' +
        "often it prefers the policy's sample to the reference policy's, asked pairwise in both orders",
      default: '',
    },
    judgeModel: {
      type: 'string',
      flag: '--judge-model',
      arg: '<name>',
      help: 'the "model" sent to --judge (default: the first the server lists at /v1/models)',
      default: '',
    },
    monitorReward: {
      type: 'strings',
      flag: '--monitor-reward',
      arg: '<dir|url|module>',
      help:
        'a watch-only reward (same kinds as --reward), logged as monitor/reward/NAME and never optimized (e.g. a ' +
        'gold judge where one is known); repeatable',
      default: [],
    },
    monitorSignal: {
      type: 'string',
      flag: '--monitor-signal',
      arg: '<name>',
      help:
        `the signal that decides best/ and parting: ${MONITOR_SIGNALS.join(', ')} or reward/NAME of a ` +
        '--monitor-reward (default: the first of those given, in that order)',
      default: '',
    },
    monitorMinRise: {
      type: 'number',
      flag: '--monitor-min-rise',
      help:
        "how far the proxy must rise after the signal's peak to call it parting, in standard deviations of the " +
        "starting policy's proxy scores on the held-out prompts (less is noise)",
      default: 0.25,
      min: 0,
    },
    stopWhenParting: {
      type: 'boolean',
      flag: '--stop-when-parting',
      help: 'stop (and save) when the proxy still rises while the signal has fallen from its peak',
      default: false,
    },
  },
  [
    (c) => {
      if (c.monitorPrompts) return null;
      const given = (
        [
          ['monitorHoldoutReward', '--monitor-holdout-reward'],
          ['monitorPairs', '--monitor-pairs'],
          ['monitorEnsemble', '--monitor-ensemble'],
          ['judge', '--judge'],
          ['judgeModel', '--judge-model'],
          ['monitorSignal', '--monitor-signal'],
        ] as const
      ).find(([k]) => c[k] !== '');
      if (given) return `${given[0]} (${given[1]}) needs monitorPrompts (--monitor-prompts FILE): the held-out prompts`;
      if (c.monitorReward.length)
        return 'monitorReward (--monitor-reward) needs monitorPrompts (--monitor-prompts FILE)';
      if (c.stopWhenParting)
        return 'stopWhenParting (--stop-when-parting) needs monitorPrompts (--monitor-prompts FILE)';
      return null;
    },
    (c) => (c.judgeModel && !c.judge ? `judgeModel (--judge-model) goes with judge (--judge URL), got none` : null),
  ],
);

export type MonitorOptions = ValuesOf<typeof monitorOptions.spec>;

export const defaultMonitorOptions: MonitorOptions = monitorOptions.defaults();
