import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChartSVG } from './plot.js';

const data = [0, 1, 2].flatMap((i) => [
  { x: [0, 4, 1][i], step: i, score: i, run: 'a', judge: 'gold' },
  { x: [0, 4, 1][i], step: i, score: 2 * i, run: 'a', judge: 'proxy' },
]);

test('a chart with dashes, a rule and step order renders to SVG with its labels', async () => {
  const svg = await lineChartSVG({
    title: 'T',
    x: { field: 'x', title: 'KL', sqrt: true },
    y: { field: 'score', title: 'score' },
    series: { field: 'run', title: 'run' },
    dash: { field: 'judge', title: 'judge' },
    order: 'step',
    rules: [{ x: 2, label: 'gold peaks' }],
    data,
  });
  assert.match(svg, /^<svg/);
  assert.match(svg, />gold peaks</, 'the rule is labelled');
  assert.match(svg, /stroke-dasharray="4,2"/, 'the second judge is dashed');
  assert.match(svg, />judge</, 'and has a legend');
  // Joined in step order, the line goes 0 → 4 → 1 along x: its path turns back.
  const path = svg.match(/mark-line[\s\S]*?d="([^"]+)"/)![1];
  const xs = [...path.matchAll(/[ML]([\d.]+),/g)].map((m) => +m[1]);
  assert.ok(xs[1] > xs[2], `the path turns back: ${xs.join(' ')}`);
});

test('without rules or dashes the chart has neither', async () => {
  const svg = await lineChartSVG({
    title: 'T',
    x: { field: 'x', title: 'x' },
    y: { field: 'score', title: 'y' },
    data: data.filter((d) => d.judge === 'gold'),
  });
  assert.doesNotMatch(svg, /stroke-dasharray="4,2"/);
  assert.doesNotMatch(svg, /gold peaks/);
});
