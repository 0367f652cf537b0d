// Steps/s of the pre-training step for sizing the slow test: tsx scripts/measure-step.ts [preset] [batch] [steps]
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@epg/tensor';
import { pretrainConfig } from '@epg/ssl';
import { getPreset } from '@epg/vit';
import { setupPretraining } from '../src/recipes';

async function main(): Promise<void> {
  const [preset = 'cpu-tiny-mnist', batchArg = '64', stepsArg = '5', overrides = '{}'] = process.argv.slice(2);
  await initBackend({ force: 'cpu' });
  const vit = getPreset(preset, JSON.parse(overrides));
  const B = Number(batchArg);
  const s = setupPretraining(vit, pretrainConfig('epg', { totalSteps: 1000 }), 1);
  const shape: [number, number, number, number] = [B, vit.imageSize, vit.imageSize, vit.channels];
  const x = tf.randomNormal(shape) as tf.Tensor4D;
  s.pretrainer.step({ x0: x, view1: x, view2: x });
  const t0 = performance.now();
  const n = Number(stepsArg);
  for (let i = 0; i < n; i++) s.pretrainer.step({ x0: x, view1: x, view2: x });
  const dt = (performance.now() - t0) / 1000 / n;
  console.log(`${preset} batch ${B}: ${dt.toFixed(3)} s/step, ${(B / dt).toFixed(1)} images/s, numTensors ${tf.memory().numTensors}`);
}
void main();
