import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { writeNpz as writeNpzE } from '@epg/data';
import { isEpgError, orThrow } from '@epg/tensor';
import { saveStatistics, loadStatistics, loadAdmReference } from './reference-stats';
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
});
