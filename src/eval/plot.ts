// Plots for reports, rendered to SVG with Vega-Lite (no browser, no canvas).

import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface LineChart {
  title: string;
  x: { field: string; title: string; log?: boolean; sqrt?: boolean };
  y: { field: string; title: string; domain?: [number, number] };
  /** Field whose values name the lines (one line per value), told apart by colour. */
  series?: { field: string; title: string };
  /** A second field that splits lines, told apart by dashes (e.g. which judge scored them). */
  dash?: { field: string; title: string };
  /** Join each line's points in the order of this field instead of along x (for paths that turn back). */
  order?: string;
  /** Vertical rules at these x values, each labelled. */
  rules?: { x: number; label: string }[];
  data: Record<string, unknown>[];
}

/** A line chart with points, as an SVG document. */
export async function lineChartSVG(c: LineChart): Promise<string> {
  const x = {
    field: c.x.field,
    type: 'quantitative',
    title: c.x.title,
    scale: c.x.log ? { type: 'log', base: 2 } : c.x.sqrt ? { type: 'sqrt' } : { zero: false },
  };
  const lines = {
    data: { values: c.data },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: {
        field: c.y.field,
        type: 'quantitative',
        title: c.y.title,
        scale: c.y.domain ? { domain: c.y.domain } : { zero: false },
      },
      ...(c.series
        ? { color: { field: c.series.field, type: 'nominal', title: c.series.title, legend: { labelLimit: 240 } } }
        : {}),
      ...(c.dash
        ? {
            strokeDash: {
              field: c.dash.field,
              type: 'nominal',
              title: c.dash.title,
              legend: {
                symbolType: 'stroke',
                symbolStrokeWidth: 2,
                symbolSize: 300,
                labelLimit: 240,
                encode: { symbols: { update: { stroke: { value: '#444' } } } },
              },
            },
          }
        : {}),
      ...(c.order ? { order: { field: c.order, type: 'quantitative' } } : {}),
    },
  };
  const rules = c.rules?.length
    ? [
        {
          data: { values: c.rules },
          mark: { type: 'rule', color: '#888', strokeDash: [2, 2] },
          encoding: { x: { ...x, field: 'x' } },
        },
        {
          data: { values: c.rules },
          mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 3, color: '#555' },
          encoding: { x: { ...x, field: 'x' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ]
    : [];
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: 480,
    height: 300,
    ...(rules.length ? { layer: [lines, ...rules] } : lines),
  } as vl.TopLevelSpec).spec;
  return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
}
