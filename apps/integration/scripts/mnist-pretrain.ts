// A short MNIST pre-training run with probes before/after: tsx scripts/mnist-pretrain.ts [steps] [batch] [lr] [variant]
import { initBackend } from '@epg/tensor';
import type { SslVariant } from '@epg/ssl';
import { runMnistPretraining } from '../src/mnist-run';

async function main(): Promise<void> {
  const [steps = '200', batch = '64', lr = '1e-3', variant = 'epg'] = process.argv.slice(2);
  await initBackend({ force: 'cpu', log: null });
  const r = await runMnistPretraining({ steps: Number(steps), batchSize: Number(batch), lr: Number(lr), seed: 1, variant: variant as SslVariant, imageSigmas: [1], log: console.log });
  console.log(`${steps} steps in ${r.seconds.toFixed(1)} s (${(r.seconds / Number(steps)).toFixed(3)} s/step); numTensors ${r.numTensorsAtStart} -> ${r.numTensorsAtEnd}`);
  for (let i = 0; i < r.before.length; i++) {
    const b = r.before[i], a = r.after[i];
    console.log(`shifted σ ${b.sigma.toFixed(4)}: kNN ${b.knnTop1.toFixed(3)} -> ${a.knnTop1.toFixed(3)}, linear ${b.linearTop1?.toFixed(3)} -> ${a.linearTop1?.toFixed(3)}, feature std ${b.featureStd.toFixed(3)} -> ${a.featureStd.toFixed(3)}`);
  }
}
void main();
