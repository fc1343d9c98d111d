import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST_ROOT, ENTRY_MODULES, importSpecifiers, loadWebAssets, moduleClosure } from './web-assets.js';

describe('web assets', () => {
  it('the pages load only browser-safe modules: their own and src/data ones, nothing from node or a package', () => {
    const mods = [...loadWebAssets().modules.keys()];
    for (const e of ENTRY_MODULES) assert.ok(mods.includes(e));
    for (const m of mods) {
      assert.ok(m.startsWith('feedback/web/') || m.startsWith('data/'), `${m} is outside the UI's allowed modules`);
      assert.doesNotMatch(m, /\.test\.js$/);
    }
  });

  it('finds static, dynamic and re-export specifiers; ignores type-only imports tsc erased', () => {
    const code =
      `import { a } from './a.js';\nimport './side.js';\nexport { b } from "../b.js";\nexport * from ` +
      `'./c.js';\nconst d = await import('./d.js');\nimport{e}from'./e.js';\nconst s = "import x from 'y'";`;
    assert.deepEqual(
      importSpecifiers(code).slice(0, 6),
      ['./a.js', './side.js', '../b.js', './c.js', './e.js', './d.js'].sort(
        (x, y) => code.indexOf(x) - code.indexOf(y),
      ),
    );
  });

  it('refuses a page module that imports a Node built-in or a package, or a missing module', () => {
    const root = mkdtempSync(join(tmpdir(), 'rlhf-web-'));
    try {
      mkdirSync(join(root, 'feedback/web'), { recursive: true });
      writeFileSync(join(root, 'feedback/web/a.js'), `import { x } from './b.js';\n`);
      writeFileSync(join(root, 'feedback/web/b.js'), `import { readFileSync } from 'node:fs';\n`);
      assert.throws(
        () => moduleClosure(root, ['feedback/web/a.js']),
        /b\.js imports "node:fs": the web pages may import only relative, browser-safe modules/,
      );
      writeFileSync(join(root, 'feedback/web/b.js'), `import Fastify from 'fastify';\n`);
      assert.throws(() => moduleClosure(root, ['feedback/web/a.js']), /imports "fastify"/);
      writeFileSync(join(root, 'feedback/web/b.js'), `import { y } from './missing.js';\n`);
      assert.throws(() => moduleClosure(root, ['feedback/web/a.js']), /missing\.js: missing; build the web pages/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    assert.ok(DIST_ROOT.endsWith('/dist/'));
  });
});
