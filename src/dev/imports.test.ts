// The source tree's shape, checked: no import cycles, no import up the layer table of design.md §3, no
// file over 400 lines and no line over 120 characters. Reads src/ (not dist/), so type-only imports count:
// tsc erases them, but a cycle of types is still a cycle for a reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const FILE = 'src/dev/imports.test.ts';
const MAX_LINES = 400;
const MAX_WIDTH = 120;
/**
 * Lines of src/ allowed over MAX_WIDTH characters, as `file:line` → why it cannot be split. The formatter keeps
 * code within MAX_WIDTH but does not split strings, templates, comments or regular expressions.
 */
const WIDE_LINES_ALLOWED: Record<string, string> = {
  'tasks/sources.ts:26': 'one regular expression made of one group of alternatives: no piece of it is valid alone',
};

/** Layer of each top folder of src/ (design.md §3): a file may import its own folder or a lower layer. */
const LAYER: Record<string, number> = {
  'test-support': 0, // test helpers; they import nothing from src/
  engine: 1,
  model: 2,
  runtime: 2.5, // models on worker threads: above a single model, below everything that uses them
  data: 3,
  objectives: 4,
  train: 5,
  eval: 6,
  tasks: 6,
  demo: 7,
  remote: 7,
  export: 7,
  feedback: 7,
  bench: 7, // the measurements `rlhf bench` runs
  board: 7.5, // `rlhf board`: reads run directories; its pages share the labeling app's page helpers
  cli: 8,
  'index.ts': 9, // the package's entry point
  dev: 9, // checks of the tree itself
};

/** Folders that know nothing of most lower layers (design.md §3): outside themselves, they import only these. */
const ONLY: Record<string, string[]> = {
  'data/': ['test-support/'], // record schemas know nothing of the engine or the models
  'feedback/': ['data/', 'test-support/'], // the labeling service knows engine and training only through data schemas
  'feedback/web/': ['data/'], // the browser pages import only the data schemas
  'board/web/': ['data/', 'feedback/web/'], // the board's pages: the data schemas and the shared page helpers
};

/**
 * Imports allowed against the rules above, `from → to` (a path ending in / stands for the folder), each with
 * its reason.
 */
const ALLOWED: Record<string, string> = {
  'data/ → engine/rng.ts':
    "batches are drawn from the run's seeded RNG (a plain generator, no tensors), so a seed repeats a run",
  'data/lm-batches.ts → engine/ops/loss.ts': "IGNORE_INDEX: the loss's marker for targets without a loss (a constant)",
  'demo/ → remote/': 'with --generator and --scorer the demo samples and scores through servers (docs/remote.md)',
  'bench/ → feedback/': '`rlhf bench labeling` measures the labeling store under load',
  'feedback/web/ → feedback/store/types.ts':
    "type-only: the pages read the API's JSON, shaped as the store's records; web-assets.test checks that " +
    'the pages load only feedback/web and data modules at run time',
  'board/web/api.ts → board/runs.ts': "type-only: the board's page reads the server's JSON, shaped as its run records",
};

/** Imports up the table in code being changed elsewhere for issue 13; remove each line as it is fixed. */
const PENDING: Record<string, string> = {
  'train/curve.ts → eval/plot.ts': 'the reward curve chart is drawn above train (eval or cli); train returns points',
  'train/reward.ts → eval/baselines.ts': 'the length and bag-of-words baselines belong at or below train',
  'train/ensemble.test.ts → feedback/server/tasks-import.ts': 'the round trip to a labeling import is a feedback test',
  'runtime/replica.test.ts → train/kernels.ts': 'the replica test needs a kernel of its own, or moves to train',
  'feedback/server/tasks-import.test.ts → cli/sample.ts': "`rlhf sample --json`'s SampleRecord belongs in src/data",
};

/** Relative specifiers a module imports: static imports and re-exports (type-only too), and literal import(). */
function importSpecifiers(code: string): string[] {
  // NOTE: static ones are anchored at a line start, so `import` in comments and template strings is not read.
  const statics = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;
  const dynamics = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  return [...code.matchAll(statics), ...code.matchAll(dynamics)].map((m) => m[1]);
}

/** src/-relative paths (with /) of every file under dir. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(SRC, join(dir, e.name)).split('\\').join('/')],
  );
}

const ALL_FILES = filesUnder(SRC);
// The TypeScript that tsc compiles (the AssemblyScript kernels are built apart and import nothing of ours).
const MODULES = ALL_FILES.filter((f) => f.endsWith('.ts') && !f.startsWith('engine/wasm/assembly/'));
const GRAPH = new Map(
  MODULES.map((f) => {
    const targets = importSpecifiers(readFileSync(join(SRC, f), 'utf8'))
      .map((spec) => join(dirname(f), spec.replace(/\.js$/, '.ts')).split('\\').join('/'))
      .filter((to) => existsSync(join(SRC, to)));
    return [f, [...new Set(targets)]];
  }),
);

/** Every elementary cycle, each listed once, from its alphabetically first file: `a.ts → b.ts → a.ts`. */
function cycles(): string[] {
  const found: string[] = [];
  for (const start of [...GRAPH.keys()].sort()) {
    const walk = (file: string, path: string[]): void => {
      for (const next of GRAPH.get(file) ?? []) {
        if (next === start) found.push([...path, start].join(' → '));
        else if (next > start && !path.includes(next)) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  }
  return found;
}

const top = (file: string) => file.split('/')[0];
const within = (pattern: string, file: string) => (pattern.endsWith('/') ? file.startsWith(pattern) : file === pattern);

/** Why `from` may not import `to`, or null when it may. */
function ruleBroken(from: string, to: string): string | null {
  for (const [scope, allowed] of Object.entries(ONLY)) {
    if (within(scope, from) && !within(scope, to) && !allowed.some((a) => within(a, to)))
      return `${scope} imports only ${allowed.join(', ')} outside itself`;
  }
  const [a, b] = [top(from), top(to)];
  if (a === b) return null;
  for (const f of [a, b]) if (LAYER[f] === undefined) return `src/${f} has no layer: add it to LAYER in ${FILE}`;
  return LAYER[b] >= LAYER[a] ? `${a} (layer ${LAYER[a]}) may not import ${b} (layer ${LAYER[b]})` : null;
}

const excepted = (table: Record<string, string>, from: string, to: string) =>
  Object.keys(table).some((k) => {
    const [f, t] = k.split(' → ');
    return within(f, from) && within(t, to);
  });

test('src/ has no import cycles', () => {
  const found = cycles();
  assert.deepEqual(
    found,
    [],
    `${found.length} import cycles; move the shared part into a lower module:\n${found.join('\n')}`,
  );
});

test('no import goes up the layer table of design.md §3', () => {
  const broken: string[] = [];
  for (const [from, tos] of GRAPH) {
    for (const to of tos) {
      const why = ruleBroken(from, to);
      if (why && !excepted(ALLOWED, from, to) && !excepted(PENDING, from, to)) broken.push(`${from} → ${to}: ${why}`);
    }
  }
  assert.deepEqual(
    broken,
    [],
    `${broken.length} imports break the layers (or add a reason to ALLOWED in ${FILE}):\n${broken.join('\n')}`,
  );
});

test('every exception is still needed', () => {
  const stale = Object.keys({ ...ALLOWED, ...PENDING }).filter((k) => {
    const [f, t] = k.split(' → ');
    return ![...GRAPH].some(
      ([from, tos]) => within(f, from) && tos.some((to) => within(t, to) && ruleBroken(from, to)),
    );
  });
  assert.deepEqual(stale, [], `no import needs these any more; remove them from ${FILE}`);
});

test(`no file in src/ is over ${MAX_LINES} lines`, () => {
  const long = ALL_FILES.map((f) => ({ f, n: readFileSync(join(SRC, f), 'utf8').split('\n').length - 1 }))
    .filter(({ n }) => n > MAX_LINES)
    .map(({ f, n }) => `src/${f}: ${n} lines`);
  assert.deepEqual(long, [], `split these by responsibility (design.md §4):\n${long.join('\n')}`);
});

test(`no line in src/ is over ${MAX_WIDTH} characters`, () => {
  const wide: string[] = [];
  for (const f of ALL_FILES.filter((x) => x.endsWith('.ts'))) {
    readFileSync(join(SRC, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const n = [...line].length; // characters, as the formatter counts them, not UTF-16 units
        if (n > MAX_WIDTH) wide.push(`${f}:${i + 1}`);
      });
  }
  const found = wide.filter((k) => !(k in WIDE_LINES_ALLOWED)).map((k) => `src/${k}`);
  assert.deepEqual(
    found,
    [],
    `split these lines (a long string into '…' + '…' pieces at a word boundary, a long comment onto more lines), ` +
      `or add them to WIDE_LINES_ALLOWED in ${FILE} with the reason:\n${found.join('\n')}`,
  );
  const stale = Object.keys(WIDE_LINES_ALLOWED).filter((k) => !wide.includes(k));
  assert.deepEqual(stale, [], `these lines are no longer over ${MAX_WIDTH} characters (or moved); update ${FILE}`);
});

test('the reader finds every kind of relative import, and no text that only looks like one', () => {
  const code = [
    "import { a } from './a.js';",
    'import type {',
    '  B,',
    '  C,',
    "} from '../b.js';",
    "import './side.js';",
    "export * from './c.js';",
    'export { type D } from "./d.js";',
    "import fs from 'node:fs';",
    "const e = await import('./e.js');",
    "// import { z } from './comment.js';",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a template literal, which the reader must skip
    "const s = `import { y } from ${'./template.js'}`;",
  ].join('\n');
  assert.deepEqual(importSpecifiers(code), ['./a.js', '../b.js', './side.js', './c.js', './d.js', './e.js']);
  assert.ok((GRAPH.get('cli/main.ts')?.length ?? 0) > 5, `cli/main.ts's imports were not found under ${SRC}`);
});
