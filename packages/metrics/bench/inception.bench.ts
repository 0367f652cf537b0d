/**
 * `pnpm bench:inception`: Inception-v3 pool3 features (299² inside) per image on each backend in
 * the same run, and the 10 000-image time they imply. Random weights: the cost does not depend on
 * them. EPG_BENCH_BACKENDS=wasm,cpu picks backends; EPG_BENCH_QUICK=1 uses smaller batches. With
 * native kernels the cpu backend runs with both convolution algorithms (Winograd for the 3×3
 * stride-1 layers, and im2col only), alternately.
 */
import { printTable, processCpuMs, quick, withRatios, type Row } from '@epg/bench';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeConvAlgorithm, RandomStream, type ConvAlgorithm } from '@epg/tensor';
import { createInceptionExtractor, randomInceptionWeights } from '../src/inception';

async function main(): Promise<void> {
  await initBackend({ force: 'wasm', log: null }); // registers wasm too, so the run can switch
  const report = await initBackend({ force: 'cpu', log: null });
  console.log(`native: ${report.native.why}`);
  const batch = quick() ? 2 : 8;
  const rows: Row[] = [];
  const defaultConv = nativeConvAlgorithm();
  for (const backend of (process.env.EPG_BENCH_BACKENDS ?? 'wasm,cpu').split(',')) {
    await tf.setBackend(backend);
    const net = createInceptionExtractor(randomInceptionWeights(RandomStream.fromSeed(1)));
    const rgb = tf.tidy(() => tf.mul(tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
    tf.tidy(() => net.extract(rgb).dataSync());
    const convs: Array<ConvAlgorithm | undefined> = backend === 'cpu' && report.native.active ? ['im2col', 'winograd', 'im2col', 'winograd'] : [undefined];
    for (const conv of convs) {
      if (conv) nativeConvAlgorithm(conv);
      const reps = backend === 'wasm' ? 1 : 2;
      const w0 = performance.now();
      const c0 = processCpuMs();
      for (let i = 0; i < reps; i++) tf.tidy(() => net.extract(rgb).dataSync());
      const wall = (performance.now() - w0) / reps / batch;
      const cpu = (processCpuMs() - c0) / reps / batch;
      rows.push({
        task: 'Inception-v3 pool3, 32 px RGB → 299²',
        backend: conv ? `cpu+native, ${conv}` : backend,
        'wall ms/image': wall,
        'cpu ms/image': cpu,
        '10k images (s, wall, extrapolated)': wall * 10,
        '10k images (s, cpu, extrapolated)': cpu * 10,
      });
    }
    rgb.dispose();
    net.dispose();
  }
  if (defaultConv) nativeConvAlgorithm(defaultConv);
  const vsFirst = withRatios(rows, { value: 'cpu ms/image', groupKey: 'task', baselineKey: 'backend', baseline: rows[0].backend as string, higherIsBetter: false });
  printTable(`Inception features (batch ${batch})`, withRatios(vsFirst, { value: 'cpu ms/image', groupKey: 'task', baselineKey: 'backend', baseline: 'cpu+native, im2col', higherIsBetter: false }));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
