// TensorBoard event files as readers nobody here wrote see them: tests/interop/tfevents_read.py checks the
// framing with crcmod's CRC-32C and parses each Event with Google's protobuf runtime (Debian
// python3-crcmod, python3-protobuf). Tests skip when they are missing, except in CI (RLHF_CI=1),
// where they run and fail.

import { spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';
const SCRIPT = 'tests/interop/tfevents_read.py';

export interface ReadEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  writer?: string;
  session_status?: string;
  /** [tag, value]; a non-finite value as "NaN", "Infinity" or "-Infinity". */
  values?: [string, number | string][];
}
export interface ReadFile {
  path: string;
  events: ReadEvent[];
}

let missing: string | null | undefined;

function check(): string | null {
  if (missing === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import crcmod.predefined, google.protobuf'], { encoding: 'utf8' });
    missing =
      r.status === 0
        ? null
        : `${PYTHON} cannot import crcmod and google.protobuf: apt-get install -y python3-crcmod python3-protobuf`;
  }
  return missing;
}

/**
 * Why tests of event files skip here (the reader is missing), or null when they run. In CI (RLHF_CI=1)
 * they always run, so a missing reader fails them (readEventFiles says what to install).
 */
export function tfeventsReaderMissing(): string | null {
  return process.env.RLHF_CI === '1' ? null : check();
}

/** The events of the given files, or of each directory's event files in name order. */
export function readEventFiles(...paths: string[]): ReadFile[] {
  const why = check();
  if (why) throw new Error(why);
  const r = spawnSync(PYTHON, [SCRIPT, ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${SCRIPT} failed (${r.status}): ${r.stderr || r.error}`);
  return (JSON.parse(r.stdout) as { files: ReadFile[] }).files;
}

/**
 * Each tag's points as TensorBoard shows a run made of these files (read in order): a SessionLog START
 * after the run's first one drops the points at its step and later (TensorBoard's Python loader), and so
 * does a point at a step no later than the tag's last one (its Rust loader). Values as float32 numbers.
 */
export function tensorBoardView(files: ReadFile[]): Map<string, [number, number][]> {
  const view = new Map<string, [number, number][]>();
  let starts = 0;
  const purge = (points: [number, number][], step: number) => points.filter(([s]) => s < step);
  for (const e of files.flatMap((f) => f.events)) {
    if (e.session_status === 'START' && starts++ > 0)
      for (const [tag, points] of view) view.set(tag, purge(points, e.step));
    for (const [tag, v] of e.values ?? []) {
      let points = view.get(tag) ?? [];
      if (points.length && points[points.length - 1][0] >= e.step) points = purge(points, e.step);
      points.push([e.step, typeof v === 'string' ? Number(v) : v]);
      view.set(tag, points);
    }
  }
  return view;
}
