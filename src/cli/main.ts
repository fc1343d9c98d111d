// The `rlhf` command: parses and validates arguments, then calls the layers below.

import { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerBoard } from './board.js';
import { registerDemo } from './demo.js';
import { registerSample } from './sample.js';
import { registerTokenizer } from './tokenizer.js';
import { registerTrain } from './train.js';
import { registerData } from './data.js';
import { registerExport } from './export.js';
import { registerInfo } from './info.js';
import { registerServe } from './serve.js';
import { registerServeModel } from './serve-model.js';
import { registerServeReward } from './serve-reward.js';
import { registerCurve, registerScore, registerSelectPairs } from './reward.js';

export function buildProgram(): Command {
  const program = new Command('rlhf')
    .description(
      'Learning from human feedback: GPT-2, Llama and Qwen models, reward models, PPO, DPO, ReST, Chain of Hindsight',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerDemo(program);
  registerTrain(program);
  registerSample(program);
  registerScore(program);
  registerSelectPairs(program);
  registerCurve(program);
  registerTokenizer(program);
  registerData(program);
  registerExport(program);
  registerInfo(program);
  registerServe(program);
  registerServeModel(program);
  registerServeReward(program);
  registerBoard(program);
  registerBench(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
