/**
 * Opens a written report in headless Chromium (Debian's `chromium`, driven by puppeteer-core; no
 * browser download) and checks that every image and curve loads. Skipped, saying why, when no
 * Chromium is installed (`apt-get install chromium`; .ci/run installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import * as E from 'fp-ts/Either';
import puppeteer from 'puppeteer-core';
import { renderCurveSvg } from './curves';
import { writeReport } from './report';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROME_PATH ?? ''].find((p) => p && existsSync(p));

/** A minimal grey PNG (8-bit, one channel) built by hand: signature, IHDR, IDAT, IEND. */
function greyPng(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rows[y * (w + 1) + 1 + x] = (x * 255) / (w - 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

(CHROMIUM ? describe : describe.skip)('report in headless Chromium', () => {
  jest.setTimeout(60_000);

  it('every image and curve of the report loads; a missing one is caught', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epg-report-browser-'));
    mkdirSync(join(dir, 'samples'));
    mkdirSync(join(dir, 'curves'));
    writeFileSync(join(dir, 'samples', 'grid.png'), greyPng(16, 8));
    const svg = await renderCurveSvg(
      [0, 1, 2].map((step) => ({ phase: 'pretrain', step, values: { loss: 3 - step } })),
      { title: 'loss' },
    );
    writeFileSync(join(dir, 'curves', 'loss.svg'), svg);
    const model = (extra: string[]) => ({
      title: 'browser check',
      sections: [{ heading: 'figures', figures: [{ src: 'samples/grid.png', caption: 'grid' }, { src: 'curves/loss.svg', caption: 'loss' }, ...extra.map((src) => ({ src, caption: src }))] }],
    });
    expect(E.isRight(writeReport(dir, model([])))).toBe(true);

    const browser = await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--allow-file-access-from-files'] });
    try {
      const page = await browser.newPage();
      const broken = async () => {
        await page.goto(`file://${join(dir, 'report.html')}`, { waitUntil: 'load' });
        return page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })));
      };
      const ok = await broken();
      expect(ok).toEqual([
        { src: 'samples/grid.png', ok: true },
        { src: 'curves/loss.svg', ok: true },
      ]);
      // The check can fail: a report pointing at a file that is not there.
      expect(E.isRight(writeReport(dir, model(['samples/missing.png'])))).toBe(true);
      const withMissing = await broken();
      expect(withMissing.find((i) => i.src === 'samples/missing.png')?.ok).toBe(false);
    } finally {
      await browser.close();
    }
  });
});
