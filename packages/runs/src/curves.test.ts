import { curvePoints, renderCurveSvg } from './curves';
import type { MetricRecord } from './metrics-log';

const records: MetricRecord[] = [
  { phase: 'pretrain', step: 0, values: { con: 4, rc: 2, lr: 0 } },
  { phase: 'pretrain', step: 1, values: { con: 3, rc: NaN, lr: 1e-4 } },
  { phase: 'finetune', step: 0, values: { con: 9 } },
];

describe('curves', () => {
  it('selects the phase and series, drops non-finite values and non-positive ones on a log axis', () => {
    const pts = curvePoints(records, { title: 't', phase: 'pretrain', series: ['con', 'rc', 'lr'], logY: true });
    expect(pts).toEqual([
      { step: 0, value: 4, series: 'con' },
      { step: 0, value: 2, series: 'rc' },
      { step: 1, value: 3, series: 'con' },
      { step: 1, value: 1e-4, series: 'lr' },
    ]);
  });

  it('renders an SVG with the title and one path per series', async () => {
    const svg = await renderCurveSvg(records, { title: 'pre-training loss', phase: 'pretrain', series: ['con', 'rc'] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('pre-training loss');
    // vega draws each line mark as a path with the role "mark-line"
    const lines = svg.match(/<path[^>]*role="graphics-symbol"[^>]*aria-roledescription="line mark"/g) ?? [];
    expect(lines.length).toBe(2);
  });
});
