// `rlhf info`: what a checkpoint holds.

import { Command } from 'commander';
import { readCheckpointConfig } from '../model/checkpoint.js';
import { countParameters, familyOf, headDimOf, kvHeadsOf } from '../model/config.js';

/** A checkpoint's architecture at a glance (family, layers, heads, head width, size), then its whole config. */
export function checkpointInfo(dir: string): Record<string, unknown> {
  const { config, meta } = readCheckpointConfig(dir);
  return {
    family: familyOf(config),
    layers: config.nLayer,
    heads: config.nHead,
    kvHeads: kvHeadsOf(config),
    headDim: headDimOf(config),
    parameters: countParameters(config),
    ...config,
    rlhf: meta,
  };
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("show a checkpoint's architecture (family, layers, heads, head width), configuration and size")
    .requiredOption('--model <dir>', 'checkpoint directory')
    .action((o) => {
      process.stdout.write(JSON.stringify(checkpointInfo(o.model), null, 2) + '\n');
    });
}
