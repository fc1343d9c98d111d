// Runs concurrency-worker processes against one database and gathers what each reported. Test
// support, shared by both backends' conformance runs.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerConfig, WorkerEvent } from './concurrency-worker.js';

const WORKER = fileURLToPath(new URL('./concurrency-worker.js', import.meta.url));

export interface WorkerRun {
  events: WorkerEvent[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts one worker process per config, all at once, and resolves when all have exited. With
 * `killAfterAcks`, a worker is killed (SIGKILL, mid-stream, connection open) once it reported that many acks.
 */
export function runWorkers(
  configs: WorkerConfig[],
  options: { killAfterAcks?: number; timeoutMs?: number } = {},
): Promise<WorkerRun[]> {
  return Promise.all(
    configs.map(
      (cfg) =>
        new Promise<WorkerRun>((resolve, reject) => {
          const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
          const run: WorkerRun = { events: [], code: null, signal: null, stderr: '' };
          let buf = '',
            acks = 0;
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new Error(
                `worker ${child.pid} still running after ${options.timeoutMs ?? 60_000} ms; stderr: ${run.stderr}`,
              ),
            );
          }, options.timeoutMs ?? 60_000);
          child.stdout.on('data', (d: Buffer) => {
            buf += d.toString();
            const lines = buf.split('\n');
            buf = lines.pop()!;
            for (const l of lines) {
              const e = JSON.parse(l) as WorkerEvent;
              run.events.push(e);
              if ('ack' in e && ++acks === options.killAfterAcks) child.kill('SIGKILL');
            }
          });
          child.stderr.on('data', (d: Buffer) => {
            run.stderr += d.toString();
          });
          child.on('error', reject);
          child.on('close', (code, signal) => {
            // after stdout is drained, unlike 'exit'
            clearTimeout(timer);
            Object.assign(run, { code, signal });
            if (code !== 0 && signal !== 'SIGKILL')
              reject(new Error(`worker ${child.pid} exited with ${code ?? signal}: ${run.stderr}`));
            else resolve(run);
          });
        }),
    ),
  );
}
