// Plots for reports, rendered to SVG with Vega-Lite (no browser, no canvas).

import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface LineChart {
  title: string;
  x: { field: string; title: string; log?: boolean };
  y: { field: string; title: string; domain?: [number, number] };
  /** Field whose values name the lines (one line per value). */
  series?: { field: string; title: string };
  data: Record<string, unknown>[];
}

/** A line chart with points, as an SVG document. */
export async function lineChartSVG(c: LineChart): Promise<string> {
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: 480,
    height: 300,
    data: { values: c.data },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: c.x.field, type: 'quantitative', title: c.x.title, scale: c.x.log ? { type: 'log', base: 2 } : { zero: false } },
      y: { field: c.y.field, type: 'quantitative', title: c.y.title, scale: c.y.domain ? { domain: c.y.domain } : { zero: false } },
      ...(c.series ? { color: { field: c.series.field, type: 'nominal', title: c.series.title } } : {}),
    },
  } as vl.TopLevelSpec).spec;
  return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
}
