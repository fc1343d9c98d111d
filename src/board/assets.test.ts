// The page's bundles: vega-interpreter's ES module turned into a plain script that runs after vega.min.js
// (as the page loads them) and gives the evaluator View takes as `expr`, so no expression needs eval.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { interpreterScript, loadBoardAssets } from './assets.js';

describe('board assets', () => {
  const { vendor } = loadBoardAssets();

  it('serves vega-interpreter as a script that takes vega-util from the vega bundle', () => {
    const script = vendor.get('vega-interpreter.js')!.body.toString('utf8');
    assert.doesNotMatch(script, /^\s*(import|export)\b/m, 'a plain script, no module syntax');
    const page: Record<string, unknown> = { setTimeout, clearTimeout, setInterval, clearInterval, console };
    page.globalThis = page;
    runInNewContext(vendor.get('vega.min.js')!.body.toString('utf8'), page);
    runInNewContext(script, page);
    const interp = page.vegaInterpreter as Record<string, unknown>;
    assert.deepEqual(
      ['operator', 'parameter', 'event', 'handler', 'encode'].map((k) => typeof interp[k]),
      Array(5).fill('function'),
    );
    // A filter the plots use, parsed to a syntax tree by vega and evaluated without Function.
    type Param = (ctx: unknown, e: { ast: unknown }) => (datum: unknown, params: unknown) => unknown;
    const ast = (page.vega as { parseExpression(e: string): unknown }).parseExpression('datum.x === datum.last');
    const keep = (interp.parameter as Param)({ functions: {} }, { ast });
    assert.deepEqual([keep({ x: 3, last: 3 }, {}), keep({ x: 2, last: 3 }, {})], [true, false]);
  });

  it('refuses a vega-interpreter build it does not know', () => {
    assert.throws(
      () =>
        interpreterScript(
          "import { isString } from 'vega-util';\nimport x from 'other';\nexport { e as expressionInterpreter };\n",
        ),
      /not the one the board knows.*npm ci/,
    );
    assert.throws(() => interpreterScript('export default 1;\n'), /not the one the board knows/);
  });
});
