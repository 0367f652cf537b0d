/**
 * Figures for apps/web/README.md: opens the built page (apps/web/dist, `pnpm web:build`) in headless
 * Chromium on each backend that initialises there, times 64 one-step images (after one warm-up
 * grid, which compiles shaders / kernels), compares the pixels with Node's cpu generation, and
 * writes a screenshot of the page to docs/web-demo.png.
 *
 *   pnpm web:build && pnpm --filter epg-web exec tsx scripts/measure.ts
 */
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import { initBackend } from '@epg/tensor';
import { generate } from '../src/generate';
import { loadModel } from '../src/model';
import { serveStatic } from '../src/testing/serve';

const APP = resolve(__dirname, '..');
const DIST = join(APP, 'dist');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROME_PATH ?? ''].find((p) => p && existsSync(p));

async function main(): Promise<void> {
  if (!CHROMIUM) throw new Error('no Chromium: apt-get install chromium');
  if (!existsSync(join(DIST, 'model', 'model.json'))) throw new Error('no apps/web/dist/model: run `pnpm web:build` first');
  const sizes = readdirSync(join(DIST, 'assets')).map((f) => [f, statSync(join(DIST, 'assets', f)).size] as const);
  for (const [f, n] of sizes) console.log(`asset ${f}: ${(n / 1024).toFixed(1)} KiB`);
  await initBackend({ force: 'cpu', log: null });
  const model = await loadModel(JSON.parse(readFileSync(join(DIST, 'model', 'model.json'), 'utf8')), readFileSync(join(DIST, 'model', 'model.safetensors')));
  const server = await serveStatic({ '/': DIST });
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--enable-unsafe-webgpu'] });
  const o = { seed: 0, count: 64, steps: 1, classId: null };
  try {
    const t0 = performance.now();
    await generate(model, o);
    const node = await generate(model, o);
    console.log(`node cpu: ${node.ms.toFixed(0)} ms for 64, ${(node.ms / 64).toFixed(2)} ms/image (warm-up ${(performance.now() - t0 - node.ms).toFixed(0)} ms)`);
    {
      // The automatic choice, and the screenshot: the page as a visitor sees it, after a warm grid.
      const page = await browser.newPage();
      await page.setViewport({ width: 900, height: 900 });
      await page.goto(`${server.url}?count=64`, { waitUntil: 'load' });
      const ready = await page.evaluate(() => window.epgDemo.ready.then((r) => r.backend as string, (e: Error) => `error: ${e.message}`));
      console.log(`automatic choice: ${ready}; the page says: ${await page.$eval('#backend', (el) => el.textContent)}`);
      await page.evaluate((opts) => window.epgDemo.generate(opts), o);
      await page.evaluate((opts) => window.epgDemo.generate(opts), o);
      await page.screenshot({ path: resolve(APP, '../../docs/web-demo.png'), fullPage: true });
      await page.close();
    }
    for (const backend of ['webgpu', 'webgl', 'wasm', 'cpu']) {
      const page = await browser.newPage();
      await page.setViewport({ width: 900, height: 900 });
      await page.goto(`${server.url}?backend=${backend}&count=64`, { waitUntil: 'load' });
      const ready = await page.evaluate(() => window.epgDemo.ready.then((r) => r.backend as string, (e: Error) => `error: ${e.message}`));
      if (ready !== backend) {
        console.log(`${backend}: not available in this headless Chromium (${ready})`);
        await page.close();
        continue;
      }
      await page.evaluate((opts) => window.epgDemo.generate(opts), o); // warm-up
      const r = await page.evaluate((opts) => window.epgDemo.generate(opts), o);
      let max = 0;
      let within = 0;
      for (let i = 0; i < r.pixels.length; i++) {
        const d = Math.abs(r.pixels[i] - node.pixels[i]);
        max = Math.max(max, d);
        if (d <= 2) within++;
      }
      console.log(`${backend}: ${r.ms.toFixed(0)} ms for 64, ${(r.ms / 64).toFixed(2)} ms/image; vs node cpu: ${((100 * within) / r.pixels.length).toFixed(3)} % within ±2, max |diff| ${max}`);
      await page.close();
    }
  } finally {
    model.dispose();
    await browser.close();
    await server.close();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
