// The board page's files: board.html and board.css from src/board/web/static/, its JavaScript modules as
// tsc compiled them into dist/ (checked browser-safe as the labeling pages' are), and the Vega and
// Vega-Lite bundles from node_modules, so the page draws its plots offline (no CDN). Read once, at start.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Asset, DIST_ROOT, moduleClosure } from '../feedback/server/web-assets.js';

/** src/board/web/static/, next to the sources. */
export const BOARD_STATIC_DIR = fileURLToPath(new URL('../../src/board/web/static/', import.meta.url));
export const BOARD_ENTRY = 'board/web/board.js';

const JS = 'text/javascript; charset=utf-8';

/** The bundles the page loads before its modules: globals `vega`, then `vegaLite`. */
export const VENDOR = { 'vega.min.js': 'vega', 'vega-lite.min.js': 'vega-lite' } as const;

export interface BoardAssets {
  files: Map<string, Asset>;
  modules: Map<string, Asset>;
  vendor: Map<string, Asset>;
}

/** A package's build/ bundle, found from where its main module resolves (both keep them in build/). */
function vendorFile(pkg: string, file: string): Buffer {
  const path = join(dirname(fileURLToPath(import.meta.resolve(pkg))), file);
  if (!existsSync(path))
    throw new Error(`${path}: missing; reinstall the dependencies (npm ci): the board draws its plots with ${pkg}`);
  return readFileSync(path);
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
  for (const [file, pkg] of Object.entries(VENDOR)) vendor.set(file, { body: vendorFile(pkg, file), type: JS });
  return { files, modules: moduleClosure(opts.distRoot ?? DIST_ROOT, [BOARD_ENTRY]), vendor };
}
