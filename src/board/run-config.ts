// A run's configuration as the board shows it, from the files a trainer leaves beside metrics.jsonl:
// train_config.json (the options and inputs `rlhf train` was given), the checkpoint's config.json (the
// model, and under "rlhf" how it was trained) or a LoRA run's adapter_config.json and rlhf.json. Flattened
// to dotted keys, two runs' configurations compare field by field.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The files read, in order, under the section names the board shows. */
const SOURCES = [
  { section: 'train', file: 'train_config.json' },
  { section: 'model', file: 'config.json' },
  { section: 'adapter', file: 'adapter_config.json' },
  { section: 'rlhf', file: 'rlhf.json' },
] as const;

/** Fields of train_config.json left out of comparisons: they differ between any two runs (--out too). */
const NOT_COMPARED = new Set(['train.started_at', 'train.argv', 'train.inputs.out']);
/** A configuration file is small; anything larger is not one. */
const MAX_BYTES = 1 << 20;

export interface RunConfig {
  trainer: string | null;
  kind: string | null;
  /** Steps the run was asked for (its options' steps, PPO's iterations or ReST's grows), when known. */
  totalSteps: number | null;
  /** Which option totalSteps counts ('steps', 'iterations', 'grows'). */
  totalOf: string | null;
  /** Each file's content by section (train, model, adapter, rlhf). */
  sections: Record<string, unknown>;
  /** Files that could not be read as JSON objects, with why. */
  problems: { file: string; message: string }[];
}

function readJSONObject(path: string): { value?: Record<string, unknown>; error?: string } | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size > MAX_BYTES) return { error: `${size} bytes: too large for a configuration file` };
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'not a JSON object' };
    return { value: v };
  } catch (e) {
    return { error: `not JSON (${(e as Error).message})` };
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function readRunConfig(dir: string): RunConfig {
  const sections: Record<string, unknown> = {};
  const problems: RunConfig['problems'] = [];
  for (const s of SOURCES) {
    const r = readJSONObject(join(dir, s.file));
    if (r?.value) sections[s.section] = r.value;
    else if (r?.error) problems.push({ file: s.file, message: r.error });
  }
  const train = obj(sections.train);
  const meta = { ...obj(obj(sections.model).rlhf), ...obj(sections.rlhf) };
  const options = obj(train.options);
  let totalSteps: number | null = null,
    totalOf: string | null = null;
  for (const k of ['iterations', 'grows', 'steps']) {
    if (typeof options[k] === 'number' && options[k] > 0) {
      totalSteps = options[k] as number;
      totalOf = k;
      break;
    }
  }
  return {
    trainer: str(train.trainer) ?? str(meta.trainer),
    kind: str(meta.kind) ?? (train.trainer === 'reward' ? 'reward' : train.trainer ? 'policy' : null),
    totalSteps,
    totalOf,
    sections,
    problems,
  };
}

/** Dotted keys to scalar values: {a: {b: 1}, c: [1, 2]} → {'a.b': 1, c: '[1,2]'}; arrays stay whole. */
export function flatten(v: unknown, prefix = '', out: Record<string, string | number | boolean | null> = {}) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out[prefix] = '{}';
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(v)) out[prefix] = JSON.stringify(v);
  else if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out[prefix] = v;
  else out[prefix] = String(v);
  return out;
}

export interface ConfigDifference {
  key: string;
  /** The value in each run; undefined where a run has no such field. */
  a?: string | number | boolean | null;
  b?: string | number | boolean | null;
}

/** The fields whose values differ between two configurations (flattened), and how many are the same. */
export function diffConfigs(a: Record<string, unknown>, b: Record<string, unknown>) {
  const fa = flatten(a),
    fb = flatten(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => !NOT_COMPARED.has(k)).sort();
  const differ: ConfigDifference[] = [];
  let same = 0;
  for (const key of keys) {
    if (key in fa && key in fb && Object.is(fa[key], fb[key])) same++;
    else differ.push({ key, ...(key in fa ? { a: fa[key] } : {}), ...(key in fb ? { b: fb[key] } : {}) });
  }
  return { differ, same };
}
