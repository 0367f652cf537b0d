// loadInceptionWeights on a file written by torch.save (scripts/make_inception_pth.py compact): every
// tensor of pytorch-fid's FID Inception under its real name and shape, as strided views of a few
// small shared storages. Checked against torch itself: each tensor's bytes (SHA-256 of torch's
// contiguous float32) and the pool3 features torch computes with these weights.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak } from '@epg/tensor/testing';
import { hashUniform } from './__fixtures__/synthetic';
import { createInceptionExtractor, inceptionWeightShapes, loadInceptionWeights } from './inception';

const FIX = join(__dirname, '__fixtures__');
const ref = JSON.parse(readFileSync(join(FIX, 'inception-strided.json'), 'utf8')) as { sha256: Record<string, string>; pool3At75: number[]; image75Seed: number };

describe('FID Inception weights straight from a torch.save .pth', () => {
  const weights = loadInceptionWeights(join(FIX, 'inception-strided.pth'));

  it('holds every tensor of pytorch-fid’s state dict, bit for bit what torch holds', () => {
    expect(new Set(weights.keys())).toEqual(new Set(inceptionWeightShapes().keys()));
    expect(Object.keys(ref.sha256)).toHaveLength(weights.size);
    for (const [name, t] of weights) {
      const d = t.data;
      const digest = createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');
      expect([name, t.dtype, digest]).toEqual([name, 'F32', ref.sha256[name]]);
    }
  });

  it('gives the pool3 features torch computes with the same file (75×75 input)', async () => {
    const net = createInceptionExtractor(weights, { inputSize: 75 });
    await expectNoLeak(() => {
      const img = tf.tensor4d(Float32Array.from(hashUniform(ref.image75Seed, 1, 75 * 75 * 3), (u) => u * 255), [1, 75, 75, 3]);
      const f = net.extract(img);
      const scale = Math.max(...ref.pool3At75.map(Math.abs));
      let worst = 0;
      f.dataSync().forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref.pool3At75[j]) / scale)));
      expect(scale).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([img, f]);
    }, 'inception forward');
    net.dispose();
  }, 120_000);

  it('a .pth that is not FID Inception names the first missing tensor', () => {
    expect(() => loadInceptionWeights(join(__dirname, '..', '..', 'tensor', 'src', '__fixtures__', 'torch', 'dtypes.pth'))).toThrow(/tensor 'Conv2d_1a_3x3\.conv\.weight' is missing/);
  });
});
