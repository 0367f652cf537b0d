/**
 * Images/s of the pre-training augmentation pipeline (x0 + MoCo v3 view 1 + view 2 per image)
 * at 32 px and 256 px, on the host (float32 arrays, the implementation @epg/data ships), and at
 * 32 px a tfjs-ops version of the same kind of work on the cpu and wasm backends, to decide where
 * augmentation should run. The tfjs version does less work than the host one (no hue rotation,
 * one blur σ per batch, bilinear crop-and-resize without antialiasing), so it is a lower bound on
 * its cost; ratios are against the host pipeline measured in the same run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, quick, withRatios, type Row } from '@epg/bench';
import { initBackend, RandomStream } from '@epg/tensor';
import { augmentPairBatch, defaultPairConfig, gaussianKernel, sampleViewParams, MOCO_V3_VIEW1, MOCO_V3_VIEW2, syntheticImageSet, type ViewConfig } from '../src';

function hostCase(size: number, batch: number): () => void {
  const set = syntheticImageSet({ count: batch, size, channels: 3, seed: 1 });
  const cfg = defaultPairConfig(size);
  let step = 0;
  return () => {
    const s = step++;
    augmentPairBatch(set.images, batch, size, size, 3, (i) => RandomStream.derive(1, s * batch + i, 'sample'), cfg);
  };
}

/** One augmented view of a batch with tfjs ops (params drawn on the host like the real pipeline). */
function tfView(x: tf.Tensor4D, size: number, cfg: ViewConfig, rs: RandomStream): tf.Tensor4D {
  const n = x.shape[0];
  const params = Array.from({ length: n }, () => sampleViewParams(rs, cfg, size, size));
  const boxes = params.flatMap((p) => [p.crop.top / size, p.crop.left / size, p.crop.bottom / size, p.crop.right / size]);
  const col = (f: (i: number) => number) => tf.tensor4d(Float32Array.from({ length: n }, (_, i) => f(i)), [n, 1, 1, 1]);
  return tf.tidy(() => {
    let y: tf.Tensor = tf.image.cropAndResize(x, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [size, size], 'bilinear');
    const jit = col((i) => (params[i].jitter ? 1 : 0));
    const b = col((i) => params[i].jitter?.brightness ?? 1);
    const c = col((i) => params[i].jitter?.contrast ?? 1);
    const s = col((i) => params[i].jitter?.saturation ?? 1);
    const lumaW = tf.tensor1d([0.299, 0.587, 0.114]);
    const luma = (t: tf.Tensor) => tf.sum(tf.mul(t, lumaW), -1, true);
    y = tf.clipByValue(tf.mul(y, tf.add(tf.mul(jit, tf.sub(b, 1)), 1)), 0, 1);
    const mean = tf.mean(luma(y), [1, 2, 3], true);
    y = tf.clipByValue(tf.add(tf.mul(c, y), tf.mul(tf.sub(1, c), mean)), 0, 1);
    y = tf.clipByValue(tf.add(tf.mul(s, y), tf.mul(tf.sub(1, s), luma(y))), 0, 1);
    const g = col((i) => (params[i].grayscale ? 1 : 0));
    y = tf.add(tf.mul(tf.sub(1, g), y), tf.mul(g, luma(y)));
    const k = gaussianKernel(1.0);
    const kh = tf.tile(tf.tensor4d(Float32Array.from(k), [1, k.length, 1, 1]), [1, 1, 3, 1]) as tf.Tensor4D;
    const kv = tf.tile(tf.tensor4d(Float32Array.from(k), [k.length, 1, 1, 1]), [1, 1, 3, 1]) as tf.Tensor4D;
    const blurred = tf.depthwiseConv2d(tf.depthwiseConv2d(y as tf.Tensor4D, kh, 1, 'same'), kv, 1, 'same');
    const bl = col((i) => (params[i].blurSigma !== null ? 1 : 0));
    y = tf.add(tf.mul(tf.sub(1, bl), y), tf.mul(bl, blurred));
    const so = col((i) => (params[i].solarize ? 1 : 0));
    y = tf.where(tf.logicalAnd(tf.greaterEqual(y, 127.5 / 255), tf.cast(so, 'bool')), tf.sub(1, y), y);
    const f = col((i) => (params[i].flip ? 1 : 0));
    y = tf.add(tf.mul(tf.sub(1, f), y), tf.mul(f, tf.reverse(y, 2)));
    return tf.sub(tf.mul(y, 2), 1);
  });
}

function tfCase(size: number, batch: number): () => Promise<void> {
  const set = syntheticImageSet({ count: batch, size, channels: 3, seed: 1 });
  let step = 0;
  return async () => {
    const rs = RandomStream.derive(1, step++, 'bench');
    const x = tf.tidy(() => tf.div(tf.tensor4d(set.images, [batch, size, size, 3], 'float32'), 255) as tf.Tensor4D);
    const f = rs.bernoulli(0.5);
    const x0 = tf.tidy(() => tf.sub(tf.mul(f ? tf.reverse(x, 2) : x, 2), 1));
    const v1 = tfView(x, size, MOCO_V3_VIEW1, rs);
    const v2 = tfView(x, size, MOCO_V3_VIEW2, rs);
    await Promise.all([x0.data(), v1.data(), v2.data()]);
    tf.dispose([x, x0, v1, v2]);
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const cases = [
    { size: 32, batch: 64 },
    { size: 256, batch: quick() ? 4 : 8 },
  ];
  for (const { size, batch } of cases) {
    const t = await measure(hostCase(size, batch), { warmup: 1 });
    rows.push({ size: `${size} px`, impl: 'host', 'batch': batch, 'ms/batch': t.medianMs, 'images/s': (1000 * batch) / t.medianMs });
  }
  for (const backend of ['cpu', 'wasm'] as const) {
    try {
      await initBackend({ force: backend, log: null });
    } catch (e) {
      console.log(`(${backend} not available: ${(e as Error).message.slice(0, 120)})`);
      continue;
    }
    const batch = 64;
    const t = await measure(tfCase(32, batch), { warmup: 2 });
    rows.push({ size: '32 px', impl: `tfjs ${backend} (subset)`, 'batch': batch, 'ms/batch': t.medianMs, 'images/s': (1000 * batch) / t.medianMs });
  }
  printTable(
    'Augmentation pipeline: (x0, view1, view2) per image, single thread',
    withRatios(rows, { value: 'images/s', groupKey: 'size', baselineKey: 'impl', baseline: 'host' }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
