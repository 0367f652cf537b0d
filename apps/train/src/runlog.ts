/**
 * Run records for epg-train: metrics JSONL, a one-line progress printer, loss-curve SVGs and the
 * HTML + Markdown report. A local stand-in for the @epg/runs package the app was planned against
 * (not in the repository yet): same shapes (appendRecord / readRecords / truncateAfter,
 * createProgress, renderCurveSvg, writeReport), so switching is a change of import.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** One logged step of one stage. */
export interface MetricRecord {
  readonly stage: string;
  readonly step: number;
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly lr?: number;
  readonly imgPerSec?: number;
  /** The step's update was skipped (non-finite loss or gradient). */
  readonly skipped?: boolean;
}

export function appendRecord(path: string, rec: MetricRecord): void {
  appendFileSync(path, `${JSON.stringify(rec)}\n`);
}

/** All complete records (a torn last line, left by a kill mid-write, is ignored). */
export function readRecords(path: string): MetricRecord[] {
  if (!existsSync(path)) return [];
  const out: MetricRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // torn line
    }
  }
  return out;
}

/**
 * Drops `stage`'s records at steps >= `step` (they belong to work the checkpoint does not hold, and
 * the resumed run logs them again), and any torn line. Atomic rewrite.
 */
export function truncateAfter(path: string, stage: string, step: number): void {
  if (!existsSync(path)) return;
  const keep = readRecords(path).filter((r) => r.stage !== stage || r.step < step);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
  renameSync(tmp, path);
}

export interface Progress {
  update(step: number, rec: { loss: number; terms: Readonly<Record<string, number>>; images: number }): void;
  done(): void;
}

/** Prints `stage step k/N loss … terms … img/s … ETA …` at most every `everyMs` (and at the end). */
export function createProgress(stage: string, total: number, start: number, write: (line: string) => void, everyMs = 5000): Progress {
  const t0 = performance.now();
  let last = -Infinity;
  let images = 0;
  return {
    update(step, rec) {
      images += rec.images;
      const now = performance.now();
      if (now - last < everyMs && step + 1 < total) return;
      last = now;
      const secs = (now - t0) / 1000;
      const rate = images / Math.max(secs, 1e-9);
      const stepsDone = step + 1 - start;
      const eta = stepsDone > 0 ? ((total - step - 1) * secs) / stepsDone : NaN;
      const terms = Object.entries(rec.terms).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ');
      write(`${stage} step ${step + 1}/${total} loss ${rec.loss.toFixed(4)}${terms ? ` (${terms})` : ''} ${rate.toFixed(1)} img/s ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'}`);
    },
    done() {
      write(`${stage}: ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    },
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line chart of named series (x = step) as a standalone SVG; non-finite points are skipped. */
export function renderCurveSvg(title: string, series: Readonly<Record<string, readonly (readonly [number, number])[]>>, width = 480, height = 280): string {
  const pts = Object.values(series).flat().filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const pad = { l: 56, r: 12, t: 28, b: 32 };
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const lines = Object.entries(series).map(([name, s], i) => {
    const d = s.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    const c = colours[i % colours.length];
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/><text x="${width - pad.r - 4}" y="${pad.t + 14 * (i + 1)}" text-anchor="end" font-size="11" fill="${c}">${esc(name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="18" font-size="13" font-family="sans-serif">${esc(title)}</text>`,
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#888"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#888"/>`,
    `<text x="${pad.l - 4}" y="${sy(y1) + 4}" text-anchor="end" font-size="10">${y1.toPrecision(3)}</text>`,
    `<text x="${pad.l - 4}" y="${sy(y0)}" text-anchor="end" font-size="10">${y0.toPrecision(3)}</text>`,
    `<text x="${pad.l}" y="${height - 12}" font-size="10">${x0}</text>`,
    `<text x="${width - pad.r}" y="${height - 12}" text-anchor="end" font-size="10">${x1} steps</text>`,
    ...lines,
    '</svg>',
    '',
  ].join('\n');
}

export interface ReportSection {
  readonly title: string;
  /** Plain-text paragraphs and `key: value` table rows. */
  readonly rows?: readonly (readonly [string, string])[];
  readonly images?: readonly { readonly path: string; readonly caption: string }[];
}

/** Writes `<base>.html` and `<base>.md` (image paths relative to the report). */
export function writeReport(base: string, title: string, sections: readonly ReportSection[]): { html: string; md: string } {
  const md = [`# ${title}`, ''];
  const html = [`<!doctype html><meta charset="utf-8"><title>${esc(title)}</title>`, '<body style="font-family:sans-serif;max-width:60em">', `<h1>${esc(title)}</h1>`];
  for (const s of sections) {
    md.push(`## ${s.title}`, '');
    html.push(`<h2>${esc(s.title)}</h2>`);
    if (s.rows?.length) {
      md.push('| | |', '|---|---|', ...s.rows.map(([k, v]) => `| ${k} | ${v} |`), '');
      html.push('<table>', ...s.rows.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`), '</table>');
    }
    for (const im of s.images ?? []) {
      md.push(`![${im.caption}](${im.path})`, '');
      html.push(`<figure><img src="${esc(im.path)}"><figcaption>${esc(im.caption)}</figcaption></figure>`);
    }
  }
  html.push('</body>', '');
  writeFileSync(`${base}.html`, html.join('\n'));
  writeFileSync(`${base}.md`, md.join('\n'));
  return { html: `${base}.html`, md: `${base}.md` };
}
