// `rlhf serve-model`: a checkpoint behind the OpenAI API (completions and chat completions, streamed or
// not); and the --generator options that the sampling commands share (sample, train rest).

import { resolveChatTemplate, tokenizerTokens } from '../model/chat-template-file.js';
import { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { RemoteGenerator } from '../remote/generator-client.js';
import { httpOptionsFromEnv } from '../remote/http.js';
import { ModelServerOptions, buildModelServer } from '../remote/model-server.js';
import { GenerationProgress, Generator } from '../train/generator.js';
import { intArg } from './args.js';
import { DTYPE_FLAG, applyDtypeFlag, loadPolicy } from './inputs.js';

/** Adds --generator URL and its settings to a command that samples. */
export function addGeneratorOptions(cmd: Command): Command {
  return cmd
    .option(
      '--generator <url>',
      'sample on a server speaking the OpenAI completions API (rlhf serve-model, vLLM, llama.cpp, TGI) instead ' +
        'of the built-in engine',
    )
    .option(
      '--generator-model <name>',
      'the "model" field sent to --generator (default: the first model its /v1/models lists)',
    )
    .option('--generator-concurrency <n>', 'requests to --generator in flight at once', intArg(1), 4)
    .option(
      '--generator-max-n <n>',
      'most samples of one prompt per request (1 for llama.cpp\'s server and TGI, which refuse or ignore "n")',
      intArg(1),
    )
    .option(
      '--generator-max-prompts <n>',
      'most prompts per request (1 for a server that takes no list of prompts)',
      intArg(1),
    )
    .option(
      '--generator-cache <file>',
      'JSONL of finished remote generations: an interrupted run resumes from it (default: OUT.cache.jsonl for ' +
        '`sample --out OUT`, OUT/generations.jsonl for `train rest`)',
    );
}

export interface GeneratorFlags {
  generator?: string;
  generatorModel?: string;
  generatorConcurrency: number;
  generatorMaxN?: number;
  generatorMaxPrompts?: number;
  generatorCache?: string;
}

/** The remote generator the flags ask for, or null for the built-in engine. */
export function remoteGeneratorFrom(
  o: GeneratorFlags,
  d: { batchSize: number; cacheFile?: string },
): RemoteGenerator | null {
  if (!o.generator) {
    for (const [flag, v] of [
      ['--generator-model', o.generatorModel],
      ['--generator-max-n', o.generatorMaxN],
      ['--generator-max-prompts', o.generatorMaxPrompts],
      ['--generator-cache', o.generatorCache],
    ] as const) {
      if (v !== undefined) throw new Error(`${flag} needs --generator URL`);
    }
    return null;
  }
  return new RemoteGenerator(o.generator, {
    ...httpOptionsFromEnv(),
    model: o.generatorModel,
    concurrency: o.generatorConcurrency,
    maxN: o.generatorMaxN,
    maxPrompts: o.generatorMaxPrompts,
    batchSize: d.batchSize,
    cacheFile: o.generatorCache ?? d.cacheFile,
  });
}

/** Progress of remote generation on stderr: a line per tenth of the work, and at the end. */
export function progressLine(gen: Generator): (p: GenerationProgress) => void {
  let shown = -1;
  return (p) => {
    const tenth = Math.floor((10 * p.done) / Math.max(1, p.total));
    if (tenth === shown && p.done !== p.total) return;
    shown = tenth;
    process.stderr.write(
      `generate: ${p.done}/${p.total} completions${p.cached ? ` (${p.cached} from the cache)` : ''} from ${gen.name}\n`,
    );
  };
}

export function registerServeModel(program: Command): void {
  program
    .command('serve-model')
    .description(
      'serve a checkpoint through the OpenAI API (POST /v1/completions, POST /v1/chat/completions with the ' +
        'checkpoint\'s chat template, "stream": true on both; GET /v1/models)',
    )
    .requiredOption('--model <dir>', 'checkpoint directory (config.json, model.safetensors, tokenizer.json)')
    .option('--port <n>', 'TCP port (0 = any free one)', intArg(0, 65535), 8000)
    .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--name <id>', "the model id in /v1/models and answers (default: the directory's name)")
    .option(
      '--chat-template <path>',
      'chat template for /v1/chat/completions (.jinja, tokenizer_config.json or a model directory; default: the ' +
        "checkpoint's own)",
    )
    .option('--max-completions <n>', 'most completions (prompts × n) in one request', intArg(1), 256)
    .option(...DTYPE_FLAG)
    .option(
      '--accept-weights',
      'accept PUT /v1/weights (new weights for the served model, as `train rest --generator` sends); only on a ' +
        'trusted network',
      false,
    )
    .action(async (o) => {
      applyDtypeFlag(o.dtype);
      const ck = loadPolicy(o.model);
      const name = o.name ?? basename(resolve(o.model));
      const opts: ModelServerOptions = {
        name,
        maxCompletions: o.maxCompletions,
        acceptWeights: o.acceptWeights,
        chat: resolveChatTemplate(o.chatTemplate, [o.model], tokenizerTokens(ck.tokenizer)) ?? undefined,
      };
      const app = buildModelServer(ck.model, ck.tokenizer, opts);
      const address = await app.listen({ port: o.port, host: o.host });
      const routes = ['POST /v1/completions', 'POST /v1/chat/completions', 'GET /v1/models'];
      if (o.acceptWeights) routes.push('PUT /v1/weights');
      process.stderr.write(
        `serve-model: "${name}" on ${address}/v1 (${routes.join(', ')}); Ctrl-C stops\n` +
          (opts.chat
            ? ''
            : `serve-model: ${o.model} has no chat template, so POST /v1/chat/completions answers 400 ` +
              '(model has no chat template)\n'),
      );
      await untilSignal();
      await app.close();
    });
}

/** Resolves on SIGINT or SIGTERM, so a server shuts down cleanly. */
export function untilSignal(): Promise<void> {
  return new Promise((res) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      res();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
