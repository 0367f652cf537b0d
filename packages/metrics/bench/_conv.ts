import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@epg/tensor';
import { processCpuMs } from '@epg/bench';
function t(label: string, flops: number, fn: () => void, n = 5) {
  fn();
  const c0 = processCpuMs(); const w0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  const c = (processCpuMs() - c0) / n, w = (performance.now() - w0) / n;
  console.log(label.padEnd(50), `cpu ${c.toFixed(1)} ms wall ${w.toFixed(1)} ms  ${(flops / c / 1e6).toFixed(1)} GFLOP/s(cpu)`);
}
async function main() {
  await initBackend({ force: 'cpu', log: null });
  const x = tf.randomNormal([128, 14, 14, 32]); const w = tf.randomNormal([3, 3, 32, 64]);
  const a = tf.randomNormal([128 * 196, 288]); const b = tf.randomNormal([288, 64]);
  const dy = tf.randomNormal([128, 14, 14, 64]);
  const f = 2 * 128 * 196 * 288 * 64;
  t('matMul [25088,288]x[288,64]', f, () => tf.tidy(() => { tf.matMul(a, b).dataSync(); }));
  t('conv2d', f, () => tf.tidy(() => { tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync(); }));
  t('bwd input', f, () => tf.tidy(() => { tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [128, 14, 14, 32], 1, 'same').dataSync(); }));
  t('bwd filter', f, () => tf.tidy(() => { (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 32, 64] }) as tf.Tensor).dataSync(); }));
  const xp = tf.randomNormal([128, 28, 28, 32]);
  const yp = tf.maxPool(xp as tf.Tensor4D, 2, 2, 'valid'); const dp = tf.randomNormal(yp.shape);
  t('maxPool fwd [128,28,28,32]', 0, () => tf.tidy(() => { tf.maxPool(xp as tf.Tensor4D, 2, 2, 'valid').dataSync(); }));
  t('maxPoolGrad', 0, () => tf.tidy(() => { (tf.engine().runKernel('MaxPoolGrad', { dy: dp, input: xp, output: yp }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor).dataSync(); }));
  t('relu same size (memory bound ref)', 0, () => tf.tidy(() => { tf.relu(xp).dataSync(); }));
}
main();
