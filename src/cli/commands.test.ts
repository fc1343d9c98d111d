// Every command whose options are declared (src/train/*-config.ts, optim-options.ts): its --help lists
// each declared flag with its range, and a bad value of each kind is refused, naming the flag, before
// anything is read or trained.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { type OptionSpec, type OptionsSpec, describeRange } from '../train/options.js';
import { dpoOptions } from '../train/dpo-config.js';
import { grpoOptions } from '../train/grpo-config.js';
import { hindsightOptions } from '../train/hindsight-config.js';
import { ktoOptions } from '../train/kto-config.js';
import { onlineDPOOptions } from '../train/online-dpo-config.js';
import { restOptions } from '../train/rest-config.js';
import { rlooOptions } from '../train/rloo-config.js';
import { rewardOptions } from '../train/reward-config.js';
import { sampleOptions } from '../train/sampling-options.js';
import { sftOptions } from '../train/sft-config.js';
import { buildProgram } from './main.js';

/** Each command and the declaration its flags come from (all of it, or the keys listed). */
const COMMANDS: { path: string[]; opts: { spec: OptionsSpec }; keys?: string[] }[] = [
  { path: ['train', 'sft'], opts: sftOptions },
  { path: ['train', 'dpo'], opts: dpoOptions },
  { path: ['train', 'hindsight'], opts: hindsightOptions },
  { path: ['train', 'kto'], opts: ktoOptions },
  { path: ['train', 'online-dpo'], opts: onlineDPOOptions },
  { path: ['train', 'rest'], opts: restOptions },
  { path: ['train', 'grpo'], opts: grpoOptions },
  { path: ['train', 'rloo'], opts: rlooOptions },
  { path: ['sample'], opts: sampleOptions },
  { path: ['train', 'reward'], opts: rewardOptions },
  {
    path: ['curve', 'reward'],
    opts: rewardOptions,
    keys: ['vocabSize', 'contextLength', 'epochs', 'batchSize', 'lr', 'evalFraction', 'seed'],
  },
];

/** The program with every command throwing instead of exiting, and its output captured. */
function program(out: { text: string }): Command {
  const p = buildProgram();
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({
      writeOut: (s) => (out.text += s),
      writeErr: (s) => (out.text += s),
      getOutHelpWidth: () => 1000,
      getErrHelpWidth: () => 1000,
    });
    c.commands.forEach(quiet);
  };
  quiet(p);
  return p;
}

/** Runs rlhf with argv; the error text (commander's or the action's), or '' when it ran. */
export async function rlhfError(argv: string[]): Promise<string> {
  const out = { text: '' };
  try {
    await program(out).parseAsync(argv, { from: 'user' });
  } catch (e) {
    return `${out.text}${(e as Error).message}`;
  }
  return '';
}

function helpOf(path: string[]): string {
  const out = { text: '' };
  let c = program(out);
  for (const name of path) c = c.commands.find((x) => x.name() === name) as Command;
  return c.helpInformation();
}

/** Values a declared option must refuse, each with a word of the message. */
function badValues(o: OptionSpec): string[] {
  switch (o.type) {
    case 'int':
      return [
        '1.5',
        'x',
        ...(o.min !== undefined ? [String(o.min - 1)] : []),
        ...(o.max !== undefined ? [String(o.max + 1)] : []),
      ];
    case 'number':
      return [
        'x',
        ...(o.above !== undefined ? [String(o.above)] : []),
        ...(o.min !== undefined ? [String(o.min - 0.5)] : []),
        ...(o.below !== undefined ? [String(o.below)] : []),
        ...(o.max !== undefined ? [String(o.max + 0.5)] : []),
      ];
    case 'numbers':
      return ['x', '1,,2', ...(o.below !== undefined ? [String(o.below)] : []), ...(o.rising ? ['20,10'] : [])];
    case 'choice':
      return ['no-such-choice'];
    case 'strings':
      return o.commas ? ['', 'a,,b'] : [''];
    default:
      return [];
  }
}

describe('declared options on the command line', () => {
  it('check combinations of options before reading any file, naming both flags', async () => {
    const need = ['--data', 'missing.jsonl', '--init', 'missing', '--out', 'missing'];
    assert.match(
      await rlhfError(['train', 'dpo', ...need, '--loss', 'ipo', '--label-smoothing', '0.1']),
      /labelSmoothing \(--label-smoothing\) applies to the sigmoid \(DPO\) loss only.*--loss/,
    );
    assert.match(
      await rlhfError(['train', 'hindsight', ...need, '--positive', 'Good:', '--negative', 'Bad:,Good:']),
      /positive \(--positive\) and negative \(--negative\) both contain "Good:"/,
    );
    const rest = [
      'train',
      'rest',
      '--init',
      'missing',
      '--prompts',
      'missing.jsonl',
      '--reward',
      'missing',
      '--out',
      'x',
    ];
    assert.match(
      await rlhfError([...rest, '--held-out', 'missing.jsonl', '--held-out-fraction', '0.1']),
      /give --held-out FILE or --held-out-fraction X, not both/,
    );
    assert.match(
      await rlhfError(['sample', '--model', 'missing', '--prompt', 'x', '--best-of', '4']),
      /--best-of N and --reward DIR\|URL\|MODULE go together/,
    );
    assert.match(
      await rlhfError(['train', 'kto', ...need, '--batch-size', '1']),
      /batchSize \(--batch-size\) must be at least 2 with the kto loss/,
    );
    assert.throws(
      () => hindsightOptions.validate({ ...hindsightOptions.defaults(), positive: [' '] }),
      /positive\[0\] \(--positive\): a phrase must not be blank/,
    );
  });

  it('refuse the flags a command does not take', async () => {
    const need = ['--data', 'missing.jsonl', '--init', 'missing', '--out', 'missing'];
    assert.match(await rlhfError(['train', 'dpo', ...need, '--preset', 'tiny']), /unknown option '--preset'/);
    // DPO resumes a LoRA run only: a full run does not keep its reference.
    assert.match(await rlhfError(['train', 'dpo', ...need, '--resume']), /--resume\) continues a LoRA run only/);
    assert.match(
      await rlhfError(['train', 'sft', '--data', 'missing.txt', '--out', 'x', '--lora-alpha', '16']),
      /--lora-alpha, --lora-dropout and --lora-targets shape LoRA adapters: give --lora-rank too/,
    );
  });

  for (const { path, opts, keys } of COMMANDS) {
    const names = keys ?? Object.keys(opts.spec);
    it(`rlhf ${path.join(' ')} --help lists every declared flag with its range`, () => {
      const help = helpOf(path);
      for (const k of names) {
        const o = opts.spec[k];
        const flag = o.type === 'boolean' && o.default ? `--no-${o.flag.slice(2)}` : o.flag;
        assert.ok(help.includes(flag), `${flag} missing from the help of ${path.join(' ')}`);
        const range = describeRange(o);
        const line = help.split('\n').find((l) => new RegExp(`^\\s*${flag}( |$)`).test(l)) ?? '';
        if (o.type === 'choice') assert.match(line, new RegExp(o.choices.join('", "')), `${flag}: ${line}`);
        else if (range) assert.ok(line.includes(`(${range})`), `${flag} should say (${range}): ${line}`);
      }
    });

    it(`rlhf ${path.join(' ')} refuses a bad value of each option, naming its flag`, async () => {
      for (const k of names) {
        const o = opts.spec[k];
        for (const bad of badValues(o)) {
          const flag = o.flag.split(', ').pop() as string;
          const err = await rlhfError([...path, flag, bad]);
          assert.ok(err.includes(flag), `${flag} ${JSON.stringify(bad)} should be refused naming it: ${err}`);
          assert.match(err, /invalid|must be|Allowed choices/, `${o.flag} ${JSON.stringify(bad)}: ${err}`);
        }
      }
    });
  }
});
