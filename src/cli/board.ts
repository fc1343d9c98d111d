// `rlhf board [DIR…]`: a local web page of the training runs under the directories given (every directory
// with metrics.jsonl), its plots following the runs as they train.

import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { buildBoardServer } from '../board/server.js';
import { findRuns } from '../board/runs.js';
import { floatArg, intArg } from './args.js';

export const DEFAULT_BOARD_PORT = 6060;
const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export function registerBoard(program: Command): void {
  program
    .command('board')
    .description(
      'a web page of training runs: every directory under DIR with metrics.jsonl, its metrics plotted against ' +
        'the step (runs overlaid, updated as they train), its configuration (and what differs between two ' +
        'runs), and the samples it logged with their scores; read-only',
    )
    .argument('[dirs...]', 'directories to search for runs (default: the current one)')
    .option(
      '--port <n>',
      `TCP port (0 = any free port; without --port, a free one is taken when ${DEFAULT_BOARD_PORT} is in use)`,
      intArg(0, 65535),
    )
    .option(
      '--host <host>',
      'address to listen on (0.0.0.0 = every interface: anyone who can reach it reads the runs)',
      '127.0.0.1',
    )
    .option('--depth <n>', 'how many directory levels below each DIR to search', intArg(0, 20), 4)
    .option('--poll <seconds>', 'how often the page asks for new lines', floatArg(0.2, 600), 2)
    .option(
      '--stale-after <seconds>',
      'a run whose files have not changed for this long, without summary.json, is shown as stopped',
      floatArg(1),
      120,
    )
    .action(async (dirs: string[], o) => {
      const roots = dirs.length ? dirs : ['.'];
      for (const d of roots) {
        let isDir = false;
        try {
          isDir = statSync(d).isDirectory();
        } catch {}
        if (!isDir)
          throw new Error(`${d}: no such directory; give the directories that hold your runs (--out of rlhf train)`);
      }
      const app = buildBoardServer({
        roots,
        depth: o.depth,
        pollMs: Math.round(o.poll * 1000),
        staleMs: Math.round(o.staleAfter * 1000),
        allowedHosts: LOOPBACK.includes(o.host) ? LOOPBACK : undefined,
      });
      const port = await listen(app, o.host, o.port);
      const moved = o.port === undefined && port !== DEFAULT_BOARD_PORT ? ` (${DEFAULT_BOARD_PORT} was in use)` : '';
      const shownHost =
        o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host.includes(':') ? `[${o.host}]` : o.host;
      const n = findRuns(roots, o.depth).runs.length;
      process.stdout.write(
        `rlhf board: ${n} run${n === 1 ? '' : 's'} under ${roots.join(', ')} (more appear as they start); open ` +
          `http://${shownHost}:${port}/${moved}\n`,
      );
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

/** Listens on `port`; without one, on the default, or any free port when the default is taken. */
async function listen(
  app: ReturnType<typeof buildBoardServer>,
  host: string,
  port: number | undefined,
): Promise<number> {
  try {
    await app.listen({ port: port ?? DEFAULT_BOARD_PORT, host });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (port !== undefined)
      throw new Error(`port ${port} is in use; give another with --port, or --port 0 for any free one`);
    await app.listen({ port: 0, host });
  }
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : (port ?? DEFAULT_BOARD_PORT);
}
