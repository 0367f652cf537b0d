/**
 * `pnpm bench:inception`: Inception-v3 pool3 features (299² inside) per image on each backend in
 * the same run, and the 10 000-image time they imply. Random weights: the cost does not depend on
 * them. EPG_BENCH_BACKENDS=wasm,cpu picks backends; EPG_BENCH_QUICK=1 uses smaller batches.
 */
import { printTable, processCpuMs, quick, withRatios, type Row } from '@epg/bench';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, RandomStream } from '@epg/tensor';
import { createInceptionExtractor, randomInceptionWeights } from '../src/inception';

async function main(): Promise<void> {
  await initBackend({ force: 'wasm', log: null }); // registers wasm too, so the run can switch
  const report = await initBackend({ force: 'cpu', log: null });
  console.log(`native: ${report.native.why}`);
  const batch = quick() ? 2 : 8;
  const rows: Row[] = [];
  for (const backend of (process.env.EPG_BENCH_BACKENDS ?? 'wasm,cpu').split(',')) {
    await tf.setBackend(backend);
    const net = createInceptionExtractor(randomInceptionWeights(RandomStream.fromSeed(1)));
    const rgb = tf.tidy(() => tf.mul(tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
    tf.tidy(() => net.extract(rgb).dataSync());
    const reps = backend === 'wasm' ? 1 : 2;
    const w0 = performance.now();
    const c0 = processCpuMs();
    for (let i = 0; i < reps; i++) tf.tidy(() => net.extract(rgb).dataSync());
    const wall = (performance.now() - w0) / reps / batch;
    const cpu = (processCpuMs() - c0) / reps / batch;
    rgb.dispose();
    net.dispose();
    rows.push({
      task: 'Inception-v3 pool3, 32 px RGB → 299²',
      backend: backend === 'cpu' && report.native.active ? 'cpu+native' : backend,
      'wall ms/image': wall,
      'cpu ms/image': cpu,
      '10k images (s, wall, extrapolated)': wall * 10,
      '10k images (s, cpu, extrapolated)': cpu * 10,
    });
  }
  printTable(`Inception features (batch ${batch})`, withRatios(rows, { value: 'cpu ms/image', groupKey: 'task', baselineKey: 'backend', baseline: rows[0].backend as string, higherIsBetter: false }));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
