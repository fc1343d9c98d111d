// `rlhf serve-reward`: a reward model behind HTTP (POST /v1/score), for `--reward URL`.

import { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { rewardModelFn } from '../train/reward-fn.js';
import { RewardModel } from '../model/reward-model.js';
import { buildRewardServer } from '../remote/reward-server.js';
import { intArg } from './args.js';
import { untilSignal } from './serve-model.js';

export function registerServeReward(program: Command): void {
  program
    .command('serve-reward')
    .description('serve a reward model over HTTP (POST /v1/score), for --reward URL on other machines')
    .requiredOption('--model <dir>', 'reward model directory (from `rlhf train reward`)')
    .option('--port <n>', 'TCP port (0 = any free one)', intArg(0, 65535), 8001)
    .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--name <id>', "the scorer's id in /v1/models and answers (default: the directory's name)")
    .option('--max-completions <n>', 'most completions scored in one request', intArg(1), 4096)
    .action(async (o) => {
      const rm = RewardModel.load(o.model);
      const name = o.name ?? basename(resolve(o.model));
      const app = buildRewardServer(rewardModelFn(rm), {
        name,
        maxCompletions: o.maxCompletions,
        info: { bias: rm.bias, context_length: rm.contextLength, input: rm.input },
      });
      const address = await app.listen({ port: o.port, host: o.host });
      if (rm.chatTemplate)
        process.stderr.write(`serve-reward: scores through the chat template ${rm.chatTemplate.source}\n`);
      process.stderr.write(`serve-reward: "${name}" on ${address}/v1 (POST /v1/score, GET /v1/models); Ctrl-C stops\n`);
      await untilSignal();
      await app.close();
    });
}
