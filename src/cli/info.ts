// `rlhf info`: what a checkpoint holds.

import { Command } from 'commander';
import { readCheckpointConfig } from '../model/checkpoint.js';
import { countParameters } from '../model/config.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("show a checkpoint's configuration and size")
    .requiredOption('--model <dir>', 'checkpoint directory')
    .action((o) => {
      const { config, meta } = readCheckpointConfig(o.model);
      process.stdout.write(
        JSON.stringify({ ...config, parameters: countParameters(config), rlhf: meta }, null, 2) + '\n',
      );
    });
}
