// Arms of the MNIST CM experiment for exploring settings (docs/consistency.md, "MNIST check"):
//   tsx scripts/cm-mnist.ts OUT.json [key=value ...]
// keys (defaults = the slow test's CM settings): pretrainSteps (300), pretrainLr (2e-3), cmSteps (300),
// batch (32), lr (5e-4), samples (256), train (4096 images), aux (1, the weight of the 'pre' arm),
// stageSteps (cmShortRun's by default), seed (11: batches, pairs, ε, dropout, latents), cache (a
// directory where the pre-trained encoder is saved and reused across runs), arms (pre,pre0,scratch:
// pre-trained + auxiliary, pre-trained without it, random encoder). Writes OUT.json and OUT-<arm>.png.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadMnist, writePngGrid } from '@epg/data';
import { computeStatistics, frechetDistance, loadDomainClassifier } from '@epg/metrics';
import { ParameterStore, RandomStream, decodeSafetensors, encodeSafetensors, initBackend, orThrow } from '@epg/tensor';
import { buildPretrainModel } from '@epg/vit';
import { meanOf, mnistImages, pretrainMnistEncoder, runCmArm } from '../src/cm-mnist';
import { MNIST_SSL_VIT } from '../src/mnist-run';

const DEFAULTS: Record<string, string> = { pretrainSteps: '300', pretrainLr: '2e-3', cmSteps: '300', batch: '32', lr: '5e-4', samples: '256', train: '4096', aux: '1', arms: 'pre,pre0,scratch', cache: '', seed: '11' };

async function loadOrPretrain(o: Record<string, string>): Promise<ParameterStore> {
  const file = o.cache ? join(o.cache, `mnist-encoder-${o.pretrainSteps}-${o.pretrainLr}.safetensors`) : '';
  if (file && existsSync(file)) {
    const store = ParameterStore.create();
    buildPretrainModel(store, MNIST_SSL_VIT, { rng: RandomStream.derive(1, 0, 'vit-init') });
    const saved = decodeSafetensors(readFileSync(file), file).tensors;
    for (const e of store.entries()) e.variable.assign(tf.tensor(saved.get(e.name)!.data as Float32Array, e.variable.shape));
    return store;
  }
  const store = await pretrainMnistEncoder({ steps: +o.pretrainSteps, lr: +o.pretrainLr, batch: 64, seed: 1 });
  if (file) writeFileSync(file, encodeSafetensors(Object.fromEntries(store.entries().map((e) => [e.name, { shape: e.variable.shape, data: e.variable.dataSync() as Float32Array }]))));
  return store;
}

async function main(): Promise<void> {
  const [out, ...kv] = process.argv.slice(2);
  const o: Record<string, string> = { ...DEFAULTS, ...Object.fromEntries(kv.map((s) => s.split('='))) };
  await initBackend({ force: 'cpu', log: null });
  const t0 = performance.now();
  const log = (l: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${l}`);
  const arms = o.arms.split(',');
  const pretrained = arms.some((a) => a.startsWith('pre')) ? await loadOrPretrain(o) : undefined;
  log('encoder ready');
  const data = mnistImages('train', +o.train);
  const heldOut = mnistImages('test', 256);
  const domain = orThrow(loadDomainClassifier('mnist'));
  const test = orThrow(loadMnist('test'));
  const ref = computeStatistics(domain.extractor, { images: test.images, count: test.count, height: 28, width: 28, channels: 1 });
  const results: Record<string, unknown> = { options: o };
  for (const arm of arms) {
    const r = runCmArm({
      name: arm, pretrained: arm.startsWith('pre') ? pretrained : undefined, auxWeight: arm === 'pre' ? +o.aux : 0,
      steps: +o.cmSteps, batch: +o.batch, lr: +o.lr, ...(o.stageSteps ? { stageSteps: +o.stageSteps } : {}),
      data, heldOut, samples: +o.samples, seed: +o.seed, log,
    });
    const fid = frechetDistance(computeStatistics(domain.extractor, { images: r.pixels, count: +o.samples, height: 28, width: 28, channels: 1 }), ref);
    const last = (a: number[]) => meanOf(a.slice(-20));
    log(`${arm}: held-out by t ${JSON.stringify(r.heldOutByT)} denoise MSE ${JSON.stringify(r.denoiseMse)}`);
    log(`${arm}: consistency last-20 ${last(r.consistency).toFixed(3)} held-out ${r.heldOutConsistency.toFixed(3)} total last-20 ${last(r.total).toFixed(3)} domain-FID ${fid.toFixed(1)}`);
    results[arm] = { consistency: r.consistency, auxiliary: r.auxiliary, total: r.total, heldOut: r.heldOutConsistency, byT: r.heldOutByT, denoise: r.denoiseMse, fid, seconds: r.seconds };
    orThrow(await writePngGrid(out.replace(/\.json$/, `-${arm}.png`), r.pixels.subarray(0, 64 * 784), 64, 28, 28, 1)());
    writeFileSync(out, JSON.stringify(results));
  }
  pretrained?.dispose();
  domain.store.dispose();
}
void main();
