// The `rlhf` command run as a user runs it: bin/rlhf.js in a child process of this Node, for the tests
// that go through the built CLI.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const RLHF_BIN = fileURLToPath(new URL('../../bin/rlhf.js', import.meta.url));

export interface CLIResult {
  status: number | null;
  out: string;
  err: string;
}

/** `rlhf ...args`, with `env` added to this process's environment; resolves when it exits. */
export function runRLHF(args: string[], env: Record<string, string> = {}): Promise<CLIResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [RLHF_BIN, ...args], { env: { ...process.env, ...env } });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (status) => resolve({ status, out, err }));
  });
}
