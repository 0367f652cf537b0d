/**
 * Loss and metric curves as standalone SVG, drawn by vega-lite (compiled to vega and rendered
 * headless, no browser or canvas needed). One chart per call: a line per named series.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { MetricRecord } from './metrics-log';

export interface CurveOptions {
  readonly title: string;
  /** Which values to draw, one line each (default: every value found in the records). */
  readonly series?: readonly string[];
  /** Only records of this phase (default: all). */
  readonly phase?: string;
  /** Log-scale y axis (default false); non-positive values are dropped when on. */
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

interface Point {
  readonly step: number;
  readonly value: number;
  readonly series: string;
}

/** The points a chart draws: finite values only (positive ones on a log axis), in record order. */
export function curvePoints(records: readonly MetricRecord[], opts: CurveOptions): Point[] {
  const pts: Point[] = [];
  for (const r of records) {
    if (opts.phase && r.phase !== opts.phase) continue;
    for (const [name, value] of Object.entries(r.values)) {
      if (opts.series && !opts.series.includes(name)) continue;
      if (!Number.isFinite(value) || (opts.logY && value <= 0)) continue;
      pts.push({ step: r.step, value, series: name });
    }
  }
  return pts;
}

/** The vega-lite spec of a chart (exported so a report can embed or restyle it). */
export function curveSpec(records: readonly MetricRecord[], opts: CurveOptions): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    data: { values: curvePoints(records, opts) },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: opts.logY ? 'value (log)' : 'value', scale: opts.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as vl.TopLevelSpec;
}

/** Renders the chart to an SVG string. */
export async function renderCurveSvg(records: readonly MetricRecord[], opts: CurveOptions): Promise<string> {
  const compiled = vl.compile(curveSpec(records, opts)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
