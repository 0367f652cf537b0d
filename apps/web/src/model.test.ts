/**
 * The export's round trip and checks in Node (the page runs the same modules): loading an export
 * gives back the exported network exactly, and a bad export fails with one line naming the problem.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { boundaryDenoiser } from '@epg/diffusion';
import { noiseSpace } from '@epg/schedules';
import { generate, samplingGrid } from './generate';
import { checkManifest, sha256Hex } from './manifest';
import { loadModel, type LoadedModel } from './model';
import { FIXTURE_VIT, buildFixture, writeFixtureExport } from './testing/fixture';

const dir = mkdtempSync(join(tmpdir(), 'epg-web-model-'));
const manifest = writeFixtureExport(dir);
const json = () => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
const weights = () => readFileSync(join(dir, 'model.safetensors'));

describe('export round trip', () => {
  it('what the writer wrote passes the reader\'s check', () => {
    expect(checkManifest(json())).toEqual(manifest);
  });

  it('model.json holds the SHA-256 of model.safetensors (WebCrypto agrees with node:crypto)', async () => {
    expect(await sha256Hex(weights())).toBe(manifest.sha256);
  });

  it('the loaded model samples exactly what the exported network samples (one step and 2 steps, class 3)', async () => {
    const loaded = await loadModel(json(), weights());
    const { store, network } = buildFixture();
    store.eval();
    const space = noiseSpace(FIXTURE_VIT.imageSize);
    const direct: LoadedModel = { manifest: loaded.manifest, space, store, denoiser: boundaryDenoiser(network, space), dispose: () => store.dispose() };
    try {
      for (const steps of [1, 2]) {
        const o = { seed: 11, count: 3, steps, classId: 3 };
        const [a, b] = [await generate(loaded, o), await generate(direct, o)];
        expect(a.shape).toEqual([3, 28, 28, 1]);
        expect(Buffer.from(a.pixels).equals(Buffer.from(b.pixels))).toBe(true);
        // Not a constant image: the perturbed network does something.
        expect(new Set(a.pixels).size).toBeGreaterThan(20);
      }
    } finally {
      loaded.dispose();
      direct.dispose();
    }
  });

  it('image i depends only on seed + i, and the class changes the images', async () => {
    const loaded = await loadModel(json(), weights());
    try {
      const per = 28 * 28;
      const grid = await generate(loaded, { seed: 5, count: 3, steps: 1, classId: 1 });
      const single = await generate(loaded, { seed: 7, count: 1, steps: 1, classId: 1 });
      expect(Buffer.from(grid.pixels.subarray(2 * per)).equals(Buffer.from(single.pixels))).toBe(true);
      const other = await generate(loaded, { seed: 7, count: 1, steps: 1, classId: 2 });
      expect(Buffer.from(other.pixels).equals(Buffer.from(single.pixels))).toBe(false);
    } finally {
      loaded.dispose();
    }
  });
});

describe('bad exports fail with one line', () => {
  const before = () => tf.memory().numTensors;
  it.each([
    ['format', (m: Record<string, unknown>) => ({ ...m, format: 'epg-checkpoint' }), /format "epg-checkpoint", expected 'epg-export'/],
    ['version', (m: Record<string, unknown>) => ({ ...m, version: 2 }), /export version 2; this reader reads version 1/],
    ['sha256', (m: Record<string, unknown>) => ({ ...m, sha256: '0'.repeat(64) }), /does not match model\.json \(SHA-256/],
    ['numClasses', (m: Record<string, unknown>) => ({ ...m, numClasses: 11 }), /numClasses 11 exceeds/],
  ])('%s', async (_name, edit, message) => {
    const n = before();
    const err = await loadModel(edit(json()), weights()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toMatch(/\n/);
    expect(before()).toBe(n);
  });

  it('weights of another network', async () => {
    const m = { ...json(), vit: { ...FIXTURE_VIT, decoder: { depth: 1, width: 64, heads: 2 } } };
    const err = await loadModel(m, weights()).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/model\.safetensors has tensor 'decoder_blocks\.1\.|lacks tensor/);
  });

  it('checkManifest names a missing field', () => {
    const r = checkManifest({ ...json(), step: -1 });
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(/field step must be a non-negative integer/);
  });
});

describe('samplingGrid', () => {
  const space = noiseSpace(28);
  it('one step is σ_max\' alone (80·28/64 = 35)', () => {
    expect(Array.from(samplingGrid(space, 1))).toEqual([35]);
  });
  it('n steps: the first n of the (n+1)-point shifted Karras grid, all above σ_min\'', () => {
    // Karras ρ=7, 3 points from 80 to 0.002: the middle one is ((80^(1/7) + 0.002^(1/7)) / 2)^7, times the shift 28/64.
    const mid = ((80 ** (1 / 7) + 0.002 ** (1 / 7)) / 2) ** 7 * (28 / 64);
    const g = samplingGrid(space, 2);
    expect(g.length).toBe(2);
    expect(g[0]).toBeCloseTo(35, 10);
    expect(g[1]).toBeCloseTo(mid, 10);
    expect(g[1]).toBeGreaterThan(space.sigmaMin);
  });
  it('rejects 0 steps', () => {
    expect(() => samplingGrid(space, 0)).toThrow(/steps must be a positive integer/);
  });
});
