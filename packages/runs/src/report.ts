/**
 * A run's report as a self-contained HTML page with a Markdown twin, both written into the run
 * directory and referring to its files (curves, grids, config) by relative path, so the directory
 * can be moved or published as a whole. Content is data (`ReportModel`); nothing is typed by hand.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';

export interface ReportTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

export interface ReportFigure {
  /** Path relative to the run directory (a .png grid or an .svg curve). */
  readonly src: string;
  readonly caption: string;
}

export interface ReportSection {
  readonly heading: string;
  readonly text?: string;
  readonly table?: ReportTable;
  readonly figures?: readonly ReportFigure[];
  /** Links to files of the run (config, metrics log), relative paths. */
  readonly links?: readonly { readonly href: string; readonly label: string }[];
}

export interface ReportModel {
  readonly title: string;
  /** One line under the title: commit, date, command. */
  readonly subtitle?: string;
  readonly sections: readonly ReportSection[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);

/** Table numbers: 4 significant digits, integers as they are. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}

export function renderHtml(m: ReportModel): string {
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(m.title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}' +
      'table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}' +
      'th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:.5em 1em .5em 0}' +
      'figure img{max-width:480px;image-rendering:pixelated;border:1px solid #ddd}figcaption{font-size:.9em;color:#555}</style>',
    '</head><body>',
    `<h1>${esc(m.title)}</h1>`,
  ];
  if (m.subtitle) parts.push(`<p><em>${esc(m.subtitle)}</em></p>`);
  for (const s of m.sections) {
    parts.push(`<h2>${esc(s.heading)}</h2>`);
    if (s.text) parts.push(`<p>${esc(s.text)}</p>`);
    if (s.table) {
      parts.push('<table><thead><tr>' + s.table.columns.map((c) => `<th>${esc(c)}</th>`).join('') + '</tr></thead><tbody>');
      for (const row of s.table.rows) parts.push('<tr>' + row.map((v) => `<td>${esc(cell(v))}</td>`).join('') + '</tr>');
      parts.push('</tbody></table>');
    }
    for (const f of s.figures ?? []) {
      parts.push(`<figure><img src="${esc(f.src)}" alt="${esc(f.caption)}"><figcaption>${esc(f.caption)}</figcaption></figure>`);
    }
    if (s.links?.length) parts.push('<ul>' + s.links.map((l) => `<li><a href="${esc(l.href)}">${esc(l.label)}</a></li>`).join('') + '</ul>');
  }
  parts.push('</body></html>', '');
  return parts.join('\n');
}

export function renderMarkdown(m: ReportModel): string {
  const md = (s: string) => s.replace(/\|/g, '\\|');
  const lines: string[] = [`# ${m.title}`, ''];
  if (m.subtitle) lines.push(`_${m.subtitle}_`, '');
  for (const s of m.sections) {
    lines.push(`## ${s.heading}`, '');
    if (s.text) lines.push(s.text, '');
    if (s.table) {
      lines.push(`| ${s.table.columns.map(md).join(' | ')} |`, `|${s.table.columns.map(() => ' --- ').join('|')}|`);
      for (const row of s.table.rows) lines.push(`| ${row.map((v) => md(cell(v))).join(' | ')} |`);
      lines.push('');
    }
    for (const f of s.figures ?? []) lines.push(`![${f.caption}](${f.src})`, '');
    for (const l of s.links ?? []) lines.push(`- [${l.label}](${l.href})`);
    if (s.links?.length) lines.push('');
  }
  return lines.join('\n');
}

/**
 * Writes report.html and report.md into `dir` (each through a temporary file and a rename, so a
 * crash never leaves half a report). Returns the two paths.
 */
export function writeReport(dir: string, m: ReportModel): E.Either<EpgError, { html: string; markdown: string }> {
  const html = join(dir, 'report.html');
  const markdown = join(dir, 'report.md');
  try {
    const h = renderHtml(m);
    const md = renderMarkdown(m);
    writeFileSync(`${html}.tmp`, h);
    writeFileSync(`${markdown}.tmp`, md);
    renameSync(`${html}.tmp`, html);
    renameSync(`${markdown}.tmp`, markdown);
    return E.right({ html, markdown });
  } catch (e) {
    return E.left(epgError('io', `cannot write the report into ${dir} (${(e as Error).message})`, 'check the run directory is writable'));
  }
}
