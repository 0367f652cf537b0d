import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { writeNpz as writeNpzE } from '@epg/data';
import { isEpgError, orThrow } from '@epg/tensor';
import * as tf from '@tensorflow/tfjs-core';
import { cachedStatistics, saveStatistics, loadStatistics, loadAdmReference } from './reference-stats';
import { computeStatistics, type FeatureExtractor } from './features';
import { featureStatistics } from './stats';
import { frechetDistance } from './frechet';
import { INCEPTION_FID_NAME } from './inception';
import { syntheticFeatures } from './__fixtures__/synthetic';

const writeNpz = (...a: Parameters<typeof writeNpzE>) => orThrow(writeNpzE(...a));

describe('reference statistics files', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'epg-metrics-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips mu, sigma (float64, exact), extractor name and count', () => {
    const s = featureStatistics(syntheticFeatures(1, 50, 6, 1), 6, 'domain-mnist@abcd1234/fc1');
    expect(E.isRight(saveStatistics(join(dir, 's.npz'), s))).toBe(true);
    const t = orThrow(loadStatistics(join(dir, 's.npz')));
    expect(t.extractor).toBe(s.extractor);
    expect(t.count).toBe(50);
    expect(Array.from(t.mu)).toEqual(Array.from(s.mu));
    expect(Array.from(t.sigma)).toEqual(Array.from(s.sigma));
    expect(frechetDistance(s, t)).toBeLessThan(1e-12);
    const other = { ...s, extractor: INCEPTION_FID_NAME };
    expect(() => frechetDistance(t, other)).toThrow(/cannot compare statistics from extractor 'domain-mnist@abcd1234\/fc1'/);
  });

  it('reads pytorch-fid style files only with an explicit extractor, and ADM reference batches', () => {
    const d = 4;
    const s = featureStatistics(syntheticFeatures(2, 30, d, 1), d, 'x');
    writeNpz(join(dir, 'pf.npz'), { mu: { dtype: 'float64', shape: [d], data: s.mu }, sigma: { dtype: 'float64', shape: [d, d], data: s.sigma } });
    const unknown = loadStatistics(join(dir, 'pf.npz'));
    expect(E.isLeft(unknown) && isEpgError(unknown.left) && unknown.left.kind).toBe('mismatch');
    expect(E.isLeft(unknown) && unknown.left.message).toMatch(/does not record its feature extractor: pass assumeExtractor/);
    expect(orThrow(loadStatistics(join(dir, 'pf.npz'), { assumeExtractor: INCEPTION_FID_NAME })).extractor).toBe(INCEPTION_FID_NAME);
    const missing = loadStatistics(join(dir, 'nope.npz'));
    expect(E.isLeft(missing) && missing.left.kind).toBe('io');
    // A sigma holding NaN would make every FID NaN: refused, naming the array and the index.
    const nanSigma = Float64Array.from(s.sigma);
    nanSigma[5] = NaN;
    writeNpz(join(dir, 'nan.npz'), { mu: { dtype: 'float64', shape: [d], data: s.mu }, sigma: { dtype: 'float64', shape: [d, d], data: nanSigma } });
    const nan = loadStatistics(join(dir, 'nan.npz'), { assumeExtractor: INCEPTION_FID_NAME });
    expect(E.isLeft(nan) && nan.left.message).toMatch(/nan\.npz: sigma holds NaN at index 5: the statistics are corrupt; recompute them/);

    const images = Uint8Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => i);
    writeNpz(join(dir, 'adm.npz'), {
      arr_0: { dtype: 'uint8', shape: [2, 3, 3, 3], data: images },
      mu: { dtype: 'float64', shape: [d], data: s.mu },
      sigma: { dtype: 'float64', shape: [d, d], data: s.sigma },
      mu_s: { dtype: 'float32', shape: [d], data: Float32Array.from(s.mu) },
      sigma_s: { dtype: 'float32', shape: [d, d], data: Float32Array.from(s.sigma) },
    });
    const adm = orThrow(loadAdmReference(join(dir, 'adm.npz')));
    expect(adm.images).toMatchObject({ count: 2, height: 3, width: 3, channels: 3 });
    expect(Array.from(adm.images!.images)).toEqual(Array.from(images));
    expect(adm.stats!.extractor).toBe(INCEPTION_FID_NAME);
    expect(adm.stats!.count).toBeNull();
    expect(Array.from(adm.stats!.mu)).toEqual(Array.from(s.mu));
    expect(adm.spatialStats!.dim).toBe(d);
    writeNpz(join(dir, 'empty.npz'), { foo: { dtype: 'uint8', shape: [1], data: new Uint8Array(1) } });
    expect(() => orThrow(loadAdmReference(join(dir, 'empty.npz')))).toThrow(/neither arr_0 nor mu\/sigma/);
  });

  /** A 3-d toy extractor (row means of the first 3 rows) that counts its calls. */
  const toy = (name: string) => {
    const ex = {
      name,
      dim: 3,
      accepts: '[B, 4, 4, 1]',
      calls: 0,
      extract: (p: tf.Tensor4D) => {
        ex.calls++;
        return tf.tidy(() => tf.reshape(tf.mean(tf.slice(p, [0, 0, 0, 0], [-1, 3, 4, 1]), 2), [p.shape[0], 3]) as tf.Tensor2D);
      },
    };
    return ex satisfies FeatureExtractor;
  };
  const images = (n: number) => ({ images: Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37) % 251), count: n, height: 4, width: 4, channels: 1 });

  it('cachedStatistics reuses a file only for the same extractor name and count; otherwise recomputes and says why', () => {
    const path = join(dir, 'eval', 'reference-toy-test.npz');
    const log: string[] = [];
    const a = toy('domain-mnist@0000000000000001/fc1');
    const first = orThrow(cachedStatistics(path, a, images(20), { log: (l) => log.push(l) }));
    expect([first.reused, a.calls, log]).toEqual([false, 1, []]);
    expect(Array.from(first.stats.mu)).toEqual(Array.from(computeStatistics(a, images(20)).mu));
    a.calls = 0;
    const again = orThrow(cachedStatistics(path, a, images(20), { log: (l) => log.push(l) }));
    expect([again.reused, a.calls, log]).toEqual([true, 0, []]);
    expect(Array.from(again.stats.sigma)).toEqual(Array.from(first.stats.sigma));
    // the same network with other weights: another name, never silently reused
    const b = toy('domain-mnist@0000000000000002/fc1');
    const other = orThrow(cachedStatistics(path, b, images(20), { log: (l) => log.push(l) }));
    expect([other.reused, b.calls]).toEqual([false, 1]);
    expect(log).toEqual([
      `reference statistics ${path}: ${path} holds statistics of extractor 'domain-mnist@0000000000000001/fc1', not 'domain-mnist@0000000000000002/fc1'; recomputing`,
    ]);
    expect(orThrow(loadStatistics(path)).extractor).toBe(b.name);
    // another image count
    const fewer = orThrow(cachedStatistics(path, b, images(10), { log: (l) => log.push(l) }));
    expect(fewer.reused).toBe(false);
    expect(log[1]).toBe(`reference statistics ${path}: computed from 20 images, not 10; recomputing`);
    // loadStatistics with expectExtractor refuses the file outright
    const refused = loadStatistics(path, { expectExtractor: a.name });
    expect(E.isLeft(refused) && isEpgError(refused.left) && refused.left.kind).toBe('mismatch');
    expect(E.isLeft(refused) && refused.left.message).toMatch(/holds statistics of extractor 'domain-mnist@0000000000000002\/fc1', not 'domain-mnist@0000000000000001\/fc1': recompute them/);
  });
});
