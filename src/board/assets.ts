// The board page's files: board.html and board.css from src/board/web/static/, its JavaScript modules as
// tsc compiled them into dist/ (checked browser-safe as the labeling pages' are), and the Vega, Vega-Lite
// and vega-interpreter bundles from node_modules, so the page draws its plots offline (no CDN) and under
// a CSP without 'unsafe-eval' (the interpreter evaluates Vega's expressions instead of compiling them
// with Function). Read once, at start.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Asset, DIST_ROOT, moduleClosure } from '../feedback/server/web-assets.js';

/** src/board/web/static/, next to the sources. */
export const BOARD_STATIC_DIR = fileURLToPath(new URL('../../src/board/web/static/', import.meta.url));
export const BOARD_ENTRY = 'board/web/board.js';

const JS = 'text/javascript; charset=utf-8';

/** The bundles the page loads before its modules: globals `vega`, then `vegaLite`, then `vegaInterpreter`. */
export const VENDOR = {
  'vega.min.js': 'vega',
  'vega-lite.min.js': 'vega-lite',
  'vega-interpreter.js': 'vega-interpreter',
} as const;

export interface BoardAssets {
  files: Map<string, Asset>;
  modules: Map<string, Asset>;
  vendor: Map<string, Asset>;
}

/** A package's build/ bundle, found from where its main module resolves (all three keep them in build/). */
function vendorFile(pkg: string, file: string): Buffer {
  let main: string;
  try {
    main = fileURLToPath(import.meta.resolve(pkg));
  } catch {
    throw new Error(`${pkg} is not installed; install the dependencies (npm ci): the board draws its plots with it`);
  }
  const path = join(dirname(main), file);
  if (!existsSync(path))
    throw new Error(`${path}: missing; reinstall the dependencies (npm ci): the board draws its plots with ${pkg}`);
  return readFileSync(path);
}

/**
 * vega-interpreter ships only as an ES module that imports three helpers from vega-util. vega.min.js,
 * loaded first, carries vega-util whole, so the module becomes a plain script that takes them from the
 * `vega` global and sets `vegaInterpreter`: one copy of vega-util, and the page's load order unchanged.
 */
export function interpreterScript(module: string): string {
  const imp = /^import \{([\w\s,$]+)\} from 'vega-util';\n/m.exec(module);
  const exp = /^export \{ ([\w$]+) as expressionInterpreter \};\s*$/m.exec(module);
  const body = imp && exp ? module.replace(imp[0], '').replace(exp[0], '') : '';
  if (!imp || !exp || /^\s*(import|export)\b/m.test(body))
    throw new Error(
      "vega-interpreter's build is not the one the board knows (one import from vega-util, one export); " +
        'install the version package.json names (npm ci)',
    );
  return (
    `(function () {\n'use strict';\nconst {${imp[1]}} = vega;\n${body}\n` +
    `globalThis.vegaInterpreter = ${exp[1]};\n})();\n`
  );
}

export function loadBoardAssets(opts: { staticDir?: string; distRoot?: string } = {}): BoardAssets {
  const dir = opts.staticDir ?? BOARD_STATIC_DIR;
  const files = new Map<string, Asset>();
  for (const [name, type] of [
    ['board.html', 'text/html; charset=utf-8'],
    ['board.css', 'text/css; charset=utf-8'],
  ]) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`${path}: missing (the board page's static files)`);
    files.set(name, { body: readFileSync(path), type });
  }
  const vendor = new Map<string, Asset>();
  for (const [file, pkg] of Object.entries(VENDOR)) {
    const body = vendorFile(pkg, file);
    vendor.set(file, {
      body: pkg === 'vega-interpreter' ? Buffer.from(interpreterScript(body.toString('utf8'))) : body,
      type: JS,
    });
  }
  return { files, modules: moduleClosure(opts.distRoot ?? DIST_ROOT, [BOARD_ENTRY]), vendor };
}
