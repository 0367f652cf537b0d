import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { renderHtml, renderMarkdown, writeReport, type ReportModel } from './report';

const model: ReportModel = {
  title: 'EPG on MNIST <tiny>',
  subtitle: 'commit abc123',
  sections: [
    { heading: 'FID', table: { columns: ['model', 'FID'], rows: [['CM 1-step', 12.3456789], ['DM | Heun', 3]] } },
    { heading: 'Samples', figures: [{ src: 'samples/cm.png', caption: 'one-step' }, { src: 'curves/loss.svg', caption: 'loss' }] },
    { heading: 'Files', links: [{ href: 'config.json', label: 'resolved config' }] },
  ],
};

describe('report', () => {
  it('HTML escapes text and references every figure and link by relative path', () => {
    const h = renderHtml(model);
    expect(h).toContain('<title>EPG on MNIST &lt;tiny&gt;</title>');
    expect(h).toContain('<img src="samples/cm.png" alt="one-step">');
    expect(h).toContain('<img src="curves/loss.svg" alt="loss">');
    expect(h).toContain('<a href="config.json">resolved config</a>');
    expect(h).toContain('<td>12.35</td>');
  });

  it('Markdown twin has the same content, with pipes escaped in tables', () => {
    const md = renderMarkdown(model);
    expect(md).toContain('| model | FID |');
    expect(md).toContain('| DM \\| Heun | 3 |');
    expect(md).toContain('![one-step](samples/cm.png)');
    expect(md).toContain('- [resolved config](config.json)');
  });

  it('writes both files; an unwritable directory is a Left naming it', () => {
    const d = mkdtempSync(join(tmpdir(), 'epg-report-'));
    const r = writeReport(d, model);
    expect(E.isRight(r)).toBe(true);
    expect(readFileSync(join(d, 'report.html'), 'utf8')).toContain('<h2>FID</h2>');
    const bad = writeReport(join(d, 'missing', 'dir'), model);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/cannot write the report into .*missing\/dir.*: check the run directory is writable/);
  });
});
