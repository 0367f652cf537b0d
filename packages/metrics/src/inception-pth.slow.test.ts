// Full-size check of the .pth path (≈ 1–2 min, EPG_SLOW=1 pnpm test:slow; needs a Python with torch,
// EPG_PYTHON or /usr/bin/python3, else it is skipped and says so). scripts/make_inception_pth.py full
// writes the hash-weight FID Inception (scripts/make_inception_fixture.py) with torch.save, dense, in
// the pre-1.6 stream format of pytorch-fid's own file and in the zip format, and converts the first
// with scripts/convert_fid_inception.py. Loaded directly, each .pth must equal the converted
// safetensors bit for bit, and so must the 299×299 features; those also match torch's own pool3.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { hashUniform, inceptionFixture } from './__fixtures__/synthetic';
import { createInceptionExtractor, loadInceptionWeights } from './inception';

const python = process.env.EPG_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`inception-pth.slow.test: skipped, ${python} cannot import torch (set EPG_PYTHON)`);

(hasTorch ? describe : describe.skip)('pytorch-fid-shaped .pth loaded directly = the Python converter’s safetensors', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'epg-inception-pth-'));
    const r = spawnSync(python, [join(__dirname, '..', 'scripts', 'make_inception_pth.py'), 'full', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`make_inception_pth.py failed: ${r.stderr}`);
  }, 600_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('same tensors bit for bit and the same 299×299 features bit for bit', () => {
    const converted = loadInceptionWeights(join(dir, 'random-inception.safetensors'));
    const fx = inceptionFixture();
    const img = tf.tensor4d(Float32Array.from(hashUniform(fx.imageSeed, 1, 299 * 299 * 3), (u) => u * 255), [1, 299, 299, 3]);
    const netC = createInceptionExtractor(converted);
    const fC = netC.extract(img);
    const featuresC = fC.dataSync().slice();
    tf.dispose(fC);
    netC.dispose();
    for (const file of ['random-inception.pth', 'random-inception-zip.pth']) {
      const direct = loadInceptionWeights(join(dir, file));
      expect(new Set(direct.keys())).toEqual(new Set(converted.keys()));
      for (const [name, t] of converted) {
        const d = direct.get(name)!;
        expect([file, name, d.shape]).toEqual([file, name, t.shape]);
        expect(Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
      }
      const net = createInceptionExtractor(direct);
      const f = net.extract(img);
      expect(Buffer.from(f.dataSync().buffer).equals(Buffer.from(featuresC.buffer))).toBe(true);
      tf.dispose(f);
      net.dispose();
    }
    const scale = Math.max(...fx.pool3.map(Math.abs));
    featuresC.forEach((v, j) => expect(Math.abs(v - fx.pool3[j])).toBeLessThan(1e-4 * scale));
    img.dispose();
  }, 600_000);
});
