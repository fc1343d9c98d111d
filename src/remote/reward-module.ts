// Rewards written as code: a JavaScript or TypeScript module whose default export scores a batch,
// `({ prompts, completions, ...columns }) => number[] | Promise<number[]>`, where each column is one of
// the data set's other fields (e.g. `answer`), as an array aligned with the prompts. The module is
// loaded once; every answer it gives is checked, and a bad one stops the run naming the file and row.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RewardFn, ScoredText } from '../train/reward-fn.js';

/** What a reward module's default export receives: one entry per row, plus one array per data column. */
export interface RewardModuleInput {
  prompts: string[];
  completions: string[];
  [column: string]: unknown[];
}

/** A reward module's default export. */
export type RewardModuleFn = (input: RewardModuleInput) => number[] | Promise<number[]>;

/** An error of ours about a module (not one its own code threw while loading), passed on as it is. */
class RewardModuleError extends Error {}

/** The file extensions read as reward modules (the rest of `--reward` specs are directories or URLs). */
export const REWARD_MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts'] as const;

const EXAMPLE =
  'export default function reward({ prompts, completions, ...columns }) { return completions.map(() => 0); }';

export function isRewardModulePath(spec: string): boolean {
  return (REWARD_MODULE_EXTENSIONS as readonly string[]).includes(extname(spec).toLowerCase());
}

/** A value in an error message: JSON, cut to `max` characters. */
export function shorten(v: unknown, max = 40): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The module's input for a batch: prompts, completions and the union of the rows' column names. */
export function moduleInput(items: ScoredText[]): RewardModuleInput {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const it of items)
    for (const k of Object.keys(it.columns ?? {}))
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
  const columns: Record<string, unknown[]> = {};
  // NOTE: a row without a field gets undefined there, so every column stays aligned with the prompts.
  for (const k of names) columns[k] = items.map((it) => it.columns?.[k]);
  return {
    ...columns,
    prompts: items.map((it) => it.prompt),
    completions: items.map((it) => it.completion),
  };
}

/** TypeScript to an ES module, with the syntax errors the transpiler finds (it does not type-check). */
async function transpileTS(path: string, shown: string): Promise<string> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new RewardModuleError(
      `${shown}: reading a TypeScript reward module needs the "typescript" package, which is not installed; ` +
        'install it (npm install typescript) or give the module as .mjs',
    );
  }
  const out = ts.transpileModule(readFileSync(path, 'utf8'), {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const d = errors[0];
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    throw new RewardModuleError(
      `${shown}${at ? `:${at.line + 1}:${at.character + 1}` : ''}: ` +
        `${ts.flattenDiagnosticMessageText(d.messageText, '\n')} (the reward module does not parse as TypeScript)`,
    );
  }
  return out.outputText;
}

/** Imports a .ts/.mts module through a transpiled copy, removed once imported. */
async function importTS(path: string, shown: string): Promise<Record<string, unknown>> {
  const code = await transpileTS(path, shown);
  // NOTE: the copy goes beside the source, so its relative imports and packages resolve as the source's
  // would; only where that directory is not writable does it go to a temporary directory.
  const name = `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.mjs`;
  let file = join(dirname(path), name);
  let tmp: string | undefined;
  try {
    writeFileSync(file, code);
  } catch {
    tmp = mkdtempSync(join(tmpdir(), 'rlhf-reward-'));
    file = join(tmp, name);
    writeFileSync(file, code);
  }
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(tmp ?? file, { recursive: true, force: true });
  }
}

/** What a module exports, for the error that says it has no default function. */
function describeExports(mod: Record<string, unknown>): string {
  const named = Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule');
  const d = mod.default;
  const def =
    d === undefined ? 'no default export' : `a default export that is ${d === null ? 'null' : `a ${typeof d}`}`;
  return named.length ? `${def}, and named exports ${named.join(', ')}` : def;
}

/** The default export function of a reward module, with a fix in the error when there is none. */
function defaultFunction(path: string, mod: Record<string, unknown>): RewardModuleFn {
  let fn = mod.default;
  // A CommonJS module that sets `exports.default` arrives as { default: { default: fn } }.
  if (fn && typeof fn === 'object' && typeof (fn as Record<string, unknown>).default === 'function')
    fn = (fn as Record<string, unknown>).default;
  if (typeof fn === 'function') return fn as RewardModuleFn;
  const fns = Object.keys(mod).filter((k) => k !== 'default' && typeof mod[k] === 'function');
  const hint =
    fns.length === 1
      ? `add \`export default ${fns[0]};\``
      : `export the scoring function as the default, e.g. \`${EXAMPLE}\``;
  throw new Error(
    `reward module ${path} has ${describeExports(mod)}; a reward module's default export is a function: ${hint}`,
  );
}

/** Loads a reward module (.js .mjs .cjs, or .ts .mts transpiled) and returns its default export. */
export async function importRewardModule(path: string): Promise<RewardModuleFn> {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile())
    throw new Error(
      `reward module ${path} does not exist; give the path of a ${REWARD_MODULE_EXTENSIONS.join(' ')} file`,
    );
  const ext = extname(abs).toLowerCase();
  let mod: Record<string, unknown>;
  try {
    mod = ext === '.ts' || ext === '.mts' ? await importTS(abs, path) : await import(pathToFileURL(abs).href);
  } catch (e) {
    if (e instanceof RewardModuleError) throw e;
    throw new Error(`reward module ${path} failed to load: ${(e as Error).message}`, { cause: e });
  }
  return defaultFunction(path, mod);
}

/** "row 3 (from 0) of 8 (prompt "…", completion "…")": where a bad answer came from. */
function rowAt(items: ScoredText[], i: number): string {
  const { prompt, completion } = items[i];
  return `row ${i} (from 0) of ${items.length} (prompt ${shorten(prompt)}, completion ${shorten(completion)})`;
}

/**
 * The reward function of a module: calls its default export on each batch and checks the answer (one
 * finite number per row). A throw is traced to its row by calling the function on the rows one at a time.
 */
export function moduleRewardFn(path: string, fn: RewardModuleFn): RewardFn {
  const call = async (items: ScoredText[]) => fn(moduleInput(items));
  return async (items) => {
    if (items.length === 0) return [];
    let r: unknown;
    try {
      r = await call(items);
    } catch (e) {
      throw await traceThrow(path, call, items, e as Error);
    }
    if (!Array.isArray(r))
      throw new Error(
        `reward module ${path} returned ${r === null ? 'null' : typeof r} for ${items.length} rows (first ` +
          `prompt ${shorten(items[0].prompt)}); it must return an array of ${items.length} numbers, one per completion`,
      );
    if (r.length !== items.length)
      throw new Error(
        `reward module ${path} returned ${r.length} scores for ${items.length} rows (first prompt ` +
          `${shorten(items[0].prompt)}); it must return one number per completion, in order`,
      );
    r.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(
          `reward module ${path} gave ${rowAt(items, i)} the score ${shorten(v)}` +
            `${typeof v === 'number' ? '' : ` (a ${v === null ? 'null' : typeof v})`}; scores must be finite numbers`,
        );
    });
    return r as number[];
  };
}

async function traceThrow(
  path: string,
  call: (items: ScoredText[]) => Promise<unknown>,
  items: ScoredText[],
  e: Error,
): Promise<Error> {
  const why = e instanceof Error ? e.message : String(e);
  if (items.length > 1)
    for (let i = 0; i < items.length; i++) {
      try {
        await call([items[i]]);
      } catch (ei) {
        const whyRow = ei instanceof Error ? ei.message : String(ei);
        return new Error(`reward module ${path} threw on ${rowAt(items, i)}: ${whyRow}`, { cause: ei });
      }
    }
  const where = items.length === 1 ? rowAt(items, 0) : `a batch of ${items.length} rows (no row alone throws)`;
  return new Error(`reward module ${path} threw on ${where}: ${why}`, { cause: e });
}
