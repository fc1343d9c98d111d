// The runs under the board's directories: every directory (to a bounded depth) that holds metrics.jsonl.
// Each gets a name (its path under the directory given) that is also its id: the server answers only for
// ids of this list, so no request can name a file outside the directories given. Symbolic links are not
// followed, for the same reason (and to stop on cycles).

import {
  type Dirent,
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { parseLine } from './jsonl-tail.js';
import { readRunConfig } from './run-config.js';

export const METRICS_FILE = 'metrics.jsonl';
/** Files of {step, …numbers} lines the board plots, besides metrics.jsonl (each where a run has it). */
export const SERIES_FILES = [METRICS_FILE, 'monitor.jsonl', 'rest.jsonl'] as const;
export type SeriesFile = (typeof SERIES_FILES)[number];
export const SAMPLES_FILE = 'samples.jsonl';
/** What a trainer writes when it ends (the reward trainer: metrics.json). */
const END_FILES = ['summary.json', 'metrics.json'];

/** Directories never searched: they hold no runs, and may be huge. */
const SKIP = new Set(['node_modules', '.git']);

export interface RunDir {
  /** Its path under the directory given (with that directory's name first when several are given). */
  id: string;
  dir: string;
}

export interface RunScan {
  runs: RunDir[];
  /** The directories given, resolved. */
  roots: string[];
  /** True when the search stopped at `maxDirs` directories. */
  truncated: boolean;
}

/** Names for the roots: their base names, made unique. */
function rootLabels(roots: string[]): string[] {
  const seen = new Map<string, number>();
  return roots.map((r) => {
    const b = basename(r) || r;
    const n = (seen.get(b) ?? 0) + 1;
    seen.set(b, n);
    return n === 1 ? b : `${b}#${n}`;
  });
}

/** Every directory under `roots` (depth ≤ maxDepth below each) holding metrics.jsonl, in path order. */
export function findRuns(roots: string[], maxDepth = 4, maxDirs = 20_000): RunScan {
  const resolved = roots.map((r) => realpathSync(r));
  const labels = rootLabels(resolved);
  const runs: RunDir[] = [];
  let visited = 0,
    truncated = false;
  resolved.forEach((root, i) => {
    const walk = (dir: string, depth: number) => {
      if (visited >= maxDirs) {
        truncated = true;
        return;
      }
      visited++;
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // unreadable: not ours to show
      }
      if (entries.some((e) => e.isFile() && e.name === METRICS_FILE)) {
        const rel = relative(root, dir).split(sep).join('/');
        const id = resolved.length === 1 ? rel || labels[i] : rel ? `${labels[i]}/${rel}` : labels[i];
        runs.push({ id, dir });
      }
      if (depth >= maxDepth) return;
      const subdirs = entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
        .map((e) => e.name)
        .sort();
      for (const name of subdirs) walk(join(dir, name), depth + 1);
    };
    walk(root, 0);
  });
  return { runs, roots: resolved, truncated };
}

export type RunStatus = 'running' | 'finished' | 'stopped';

export interface RunSummary {
  id: string;
  /** The absolute path, for the person reading the board. */
  dir: string;
  trainer: string | null;
  kind: string | null;
  status: RunStatus;
  /** Where the run is: the last complete metrics line's step (PPO's iteration, ReST's Grow), and of how many. */
  lastStep: number | null;
  totalSteps: number | null;
  /** What lastStep counts: 'step', 'iteration' (PPO) or 'grow' (ReST). */
  unit: string;
  /** Last change to its metrics or samples (ms since the epoch). */
  updated: number;
  /** Which of the files the board reads the run has. */
  files: string[];
}

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
};

/** The last complete line of a file as a record (read from its end), or null. */
export function lastRecord(path: string, tailBytes = 65_536): Record<string, unknown> | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - tailBytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a line still being written
    for (let i = lines.length - 1; i >= (start > 0 ? 1 : 0); i--) {
      const p = parseLine(lines[i]);
      if (p && 'value' in p) return p.value;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The x of a record: its step, else its PPO iteration, else its ReST Grow. */
export function stepOf(r: Record<string, unknown>): number | null {
  for (const k of ['step', 'iteration', 'grow']) if (typeof r[k] === 'number') return r[k] as number;
  return null;
}

/**
 * A run's status: finished when the trainer's closing file (summary.json) is newer than its metrics;
 * running when its files changed within `staleMs`; else stopped (crashed, killed, or stopped to resume).
 */
export function summarizeRun(run: RunDir, staleMs: number, now = Date.now()): RunSummary {
  const files = [...SERIES_FILES, SAMPLES_FILE].filter((f) => existsSync(join(run.dir, f)));
  const updated = Math.max(...[METRICS_FILE, SAMPLES_FILE, 'monitor.jsonl'].map((f) => mtime(join(run.dir, f)) ?? 0));
  const ended = Math.max(...END_FILES.map((f) => mtime(join(run.dir, f)) ?? -1));
  const status: RunStatus = ended >= updated ? 'finished' : now - updated < staleMs ? 'running' : 'stopped';
  const last = lastRecord(join(run.dir, METRICS_FILE));
  const cfg = readRunConfig(run.dir);
  // ReST's lines count the steps of each Improve step's fine-tuning; its progress is its Grow.
  const grow = last?.['rest/grow'];
  const unit =
    typeof grow === 'number'
      ? 'grow'
      : last && typeof last.step !== 'number' && typeof last.iteration === 'number'
        ? 'iteration'
        : 'step';
  const lastStep = typeof grow === 'number' ? grow : last ? stepOf(last) : null;
  return {
    id: run.id,
    dir: run.dir,
    trainer: cfg.trainer,
    kind: cfg.kind,
    status,
    lastStep,
    totalSteps: cfg.totalOf === `${unit}s` ? cfg.totalSteps : null,
    unit,
    updated,
    files,
  };
}
