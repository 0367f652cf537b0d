import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak } from '@epg/tensor/testing';
import { hashInceptionWeights, hashUniform, inceptionFixture } from './__fixtures__/synthetic';
import { foldConv, createInceptionExtractor, inceptionConvSpecs, inceptionWeightShapes, checkInceptionWeights, loadInceptionWeights, INCEPTION_FID_NAME } from './inception';

describe('FID Inception-v3 architecture', () => {
  it('has the layer list of pytorch-fid’s fid_inception_v3 (94 BasicConv2d)', () => {
    const specs = inceptionConvSpecs();
    expect(specs).toHaveLength(94);
    const convWeights = specs.reduce((p, c) => p + c.inC * c.outC * c.kh * c.kw, 0);
    // torchvision's inception_v3 has 27,161,264 parameters; minus AuxLogits (98,304 + 256 +
    // 2,457,600 + 1,536 + 769,000 = 3,326,696) and fc (2,049,000) leaves the trunk's conv + BN (γ, β)
    const bn = specs.reduce((p, c) => p + 2 * c.outC, 0);
    expect(convWeights + bn).toBe(27_161_264 - 3_326_696 - 2_049_000);
    // channel bookkeeping: each block's declared input equals the previous block's concatenated output
    const inputOf = (n: string) => specs.find((s) => s.name === n)!.inC;
    expect([inputOf('Mixed_5b.branch1x1'), inputOf('Mixed_5c.branch1x1'), inputOf('Mixed_5d.branch1x1')]).toEqual([192, 256, 288]);
    expect([inputOf('Mixed_6a.branch3x3'), inputOf('Mixed_6b.branch1x1'), inputOf('Mixed_7a.branch3x3_1')]).toEqual([288, 768, 768]);
    expect([inputOf('Mixed_7b.branch1x1'), inputOf('Mixed_7c.branch1x1')]).toEqual([1280, 2048]);
    expect(inceptionWeightShapes().get('Mixed_6b.branch7x7_2.conv.weight')).toEqual([128, 128, 1, 7]);
  });

  it('tfjs pooling and resize follow the TF conventions the FID graph needs', () => {
    // avg pool 'same' divides by the count of valid cells (count_include_pad=False): corner of 1..9 = (1+2+4+5)/4
    const y = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    expect(Array.from(tf.tidy(() => tf.avgPool(y, 3, 1, 'same').dataSync()))).toEqual([3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
    // TF1 ResizeBilinear (no half-pixel centres): 2×2 [2,2;4,4] → 3×3 rows 2, 10/3, 4 (docs/metrics-reference.md trap 1)
    const r = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d([2, 2, 4, 4], [1, 2, 2, 1]), [3, 3]).dataSync());
    [2, 2, 2, 10 / 3, 10 / 3, 10 / 3, 4, 4, 4].forEach((v, i) => expect(r[i]).toBeCloseTo(v, 5));
    tf.dispose([y]);
  });

  it('matches PyTorch (75×75 input); maps any size and 1 or 3 channels to 2048-d pool3 and bias-free logits', async () => {
    // same graph in torch conventions (NCHW, explicit paddings, count_include_pad=False) with
    // hash-generated weights: scripts/make_inception_fixture.py; 299×299 is in the slow suite
    const fx = inceptionFixture();
    const weights = hashInceptionWeights(inceptionWeightShapes());
    const small = createInceptionExtractor(weights, { inputSize: 75 });
    expect(small.name).toBe(`${INCEPTION_FID_NAME}@75px`);
    await expectNoLeak(() => {
      const img = tf.tensor4d(Float32Array.from(hashUniform(fx.image75Seed, 1, 75 * 75 * 3), (u) => u * 255), [1, 75, 75, 3]);
      const f = small.extract(img);
      const scale = Math.max(...fx.pool3At75.map(Math.abs));
      let worst = 0;
      f.dataSync().forEach((v, j) => (worst = Math.max(worst, Math.abs(v - fx.pool3At75[j]) / scale)));
      expect(worst).toBeLessThan(1e-4);
      // grey = its 3-channel repetition, inside a batch of 2; logits = pool3·Wᵀ without the bias
      const grey = tf.tidy(() => tf.mul(tf.randomUniform([1, 40, 40, 1], 0, 1, 'float32', 4), 255) as tf.Tensor4D);
      const rgb = tf.tidy(() => tf.concat([tf.tile(grey, [1, 1, 1, 3]), tf.mul(tf.randomUniform([1, 40, 40, 3], 0, 1, 'float32', 5), 255)]) as tf.Tensor4D);
      const g = small.extract(rgb);
      expect(g.shape).toEqual([2, 2048]);
      const l = small.logits(grey);
      expect(l.shape).toEqual([1, 1008]);
      const feat = g.dataSync().subarray(0, 2048);
      const w = weights.get('fc.weight')!.data;
      const logits = l.dataSync();
      let lscale = 0;
      for (let c = 0; c < 1008; c++) lscale = Math.max(lscale, Math.abs(logits[c]));
      for (const c of [0, 1, 500, 1007]) {
        let s = 0;
        for (let j = 0; j < 2048; j++) s += feat[j] * w[c * 2048 + j];
        expect(Math.abs(logits[c] - s)).toBeLessThan(1e-4 * lscale);
      }
      tf.dispose([img, f, grey, rgb, g, l]);
    }, 'inception forward at 75 px');
    small.dispose();
    const full = createInceptionExtractor(weights);
    expect(full.name).toBe(INCEPTION_FID_NAME);
    full.dispose();
    expect(() => createInceptionExtractor(weights, { inputSize: 60 })).toThrow(/inputSize must be an integer ≥ 75/);
  }, 120_000);

  it('folds an OIHW conv + BatchNorm (ε = 1e−3) into an HWIO kernel and bias (explicit loops as reference)', () => {
    const spec = { name: 'c', inC: 2, outC: 3, kh: 3, kw: 2, stride: 1 as const, pad: 'valid' as const };
    const wt = Float32Array.from({ length: 3 * 2 * 3 * 2 }, (_, i) => Math.sin(0.37 * i));
    const vec = (f: (o: number) => number) => ({ dtype: 'F32' as const, shape: [3], data: Float32Array.from([0, 1, 2], f) });
    const w = new Map([
      ['c.conv.weight', { dtype: 'F32' as const, shape: [3, 2, 3, 2], data: wt }],
      ['c.bn.weight', vec((o) => 0.5 + o)],
      ['c.bn.bias', vec((o) => 0.1 * o - 0.2)],
      ['c.bn.running_mean', vec((o) => 0.3 - 0.2 * o)],
      ['c.bn.running_var', vec((o) => 0.7 + 0.4 * o)],
    ]);
    const f = foldConv(w, spec);
    const [H, W] = [5, 4];
    const x = Float32Array.from({ length: H * W * 2 }, (_, i) => Math.cos(0.21 * i));
    const got = tf.tidy(() => tf.add(tf.conv2d(tf.tensor4d(x, [1, H, W, 2]), f.kernel, 1, 'valid'), f.bias).dataSync());
    let k = 0;
    for (let y = 0; y + 3 <= H; y++) {
      for (let xx = 0; xx + 2 <= W; xx++) {
        for (let o = 0; o < 3; o++) {
          let conv = 0;
          for (let i = 0; i < 2; i++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 2; kx++) conv += x[((y + ky) * W + xx + kx) * 2 + i] * wt[((o * 2 + i) * 3 + ky) * 2 + kx];
          const gamma = 0.5 + o;
          const expected = (gamma * (conv - (0.3 - 0.2 * o))) / Math.sqrt(0.7 + 0.4 * o + 1e-3) + (0.1 * o - 0.2);
          expect(got[k++]).toBeCloseTo(expected, 5);
        }
      }
    }
    expect(k).toBe(3 * 3 * 3);
    tf.dispose([f.kernel, f.bias]);
  });

  it('names a missing or misshapen tensor and a missing file', () => {
    const w = new Map([...inceptionWeightShapes()].map(([n, shape]) => [n, { dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((p, q) => p * q, 1)) }]));
    expect(() => checkInceptionWeights(w, 'x.safetensors')).not.toThrow();
    w.delete('Mixed_6c.branch7x7dbl_3.bn.running_var');
    expect(() => checkInceptionWeights(w, 'x.safetensors')).toThrow(/'Mixed_6c.branch7x7dbl_3.bn.running_var' is missing/);
    expect(() => loadInceptionWeights('/nonexistent/fid.safetensors')).toThrow(/not found: \/nonexistent\/fid.safetensors.*convert_fid_inception.py/);
  });
});
