// The web pages' files: HTML and CSS from src/feedback/web/static/, and the JavaScript modules tsc
// compiled from src/feedback/web/ into dist/. Only the modules the pages import (followed from their
// entry points) are served, and each must be browser-safe: relative imports only, no `node:` modules,
// no packages. Everything is read once, at start-up.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/ (this file is dist/feedback/server/web-assets.js). */
export const DIST_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** src/feedback/web/static/, next to the sources. */
export const STATIC_DIR = fileURLToPath(new URL('../../../src/feedback/web/static/', import.meta.url));
/** The pages' entry modules, relative to dist/. */
export const ENTRY_MODULES = ['feedback/web/labeler.js', 'feedback/web/admin.js'];

export interface Asset {
  body: Buffer;
  type: string;
}

export interface WebAssets {
  /** index.html, admin.html, style.css, … by file name. */
  files: Map<string, Asset>;
  /** Module path relative to dist/ (posix) → its code. */
  modules: Map<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const ext = (f: string) => /\.[a-z]+$/.exec(f)?.[0] ?? '';

/** The import specifiers of an ES module's source (static and dynamic imports, re-exports). */
export function importSpecifiers(code: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+\s*from\s*)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m: RegExpExecArray | null; (m = re.exec(code)); ) out.push(m[1] ?? m[2]);
  return out;
}

/**
 * The modules reachable from the entries, read from `root`. Throws when one is missing (not built)
 * or imports something a browser cannot load (a package or a Node built-in).
 */
export function moduleClosure(root: string, entries: string[]): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const todo = [...entries];
  while (todo.length) {
    const rel = todo.pop()!;
    if (out.has(rel)) continue;
    const file = join(root, rel);
    if (!existsSync(file))
      throw new Error(`${file}: missing; build the web pages with \`npx tsc -p tsconfig.json\` (npm run build)`);
    const code = readFileSync(file);
    out.set(rel, { body: code, type: TYPES['.js'] });
    for (const spec of importSpecifiers(code.toString('utf8'))) {
      if (!spec.startsWith('./') && !spec.startsWith('../')) {
        throw new Error(
          `${rel} imports "${spec}": the web pages may import only relative, browser-safe modules (no packages, ` +
            `nothing from node)`,
        );
      }
      const target = normalize(join(dirname(rel), spec))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) throw new Error(`${rel} imports "${spec}", outside dist/`);
      todo.push(target);
    }
  }
  return out;
}

export function loadWebAssets(opts: { staticDir?: string; distRoot?: string } = {}): WebAssets {
  const staticDir = opts.staticDir ?? STATIC_DIR;
  if (!existsSync(staticDir)) throw new Error(`${staticDir}: the web pages' static files are missing`);
  const files = new Map<string, Asset>();
  for (const f of readdirSync(staticDir)) {
    const type = TYPES[ext(f)];
    if (type) files.set(f, { body: readFileSync(join(staticDir, f)), type });
  }
  for (const need of ['index.html', 'admin.html'])
    if (!files.has(need)) throw new Error(`${join(staticDir, need)}: missing`);
  return { files, modules: moduleClosure(opts.distRoot ?? DIST_ROOT, ENTRY_MODULES) };
}
