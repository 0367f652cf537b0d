/**
 * Pre-training step throughput (images/s) of @epg/ssl's EPG step on @epg/vit CPU presets (tfjs cpu
 * backend with @epg/tensor-native kernels), beside a PyTorch twin of the same step measured in this
 * run (scripts/torch_pretrain_step.py, 1 thread; python3-torch from Debian apt). Ratio = tfjs / torch.
 * The tfjs side uses 1 BLAS thread too unless OPENBLAS_NUM_THREADS says otherwise.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, quick, type Row } from '@epg/bench';
import { initBackend } from '@epg/tensor';
import { pretrainConfig } from '@epg/ssl';
import { getPreset, type ViTConfig } from '@epg/vit';
import { setupPretraining } from '../src/recipes';
import { MNIST_SSL_VIT } from '../src/mnist-run';

/** The interpreter that has torch: plain python3 first, then Debian's (pyenv shims hide dist-packages). */
function torchPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

function torchTwin(py: string, vit: ViTConfig, batch: number, steps: number): number {
  const arg = JSON.stringify({
    image: vit.imageSize, channels: vit.channels, patch: vit.patchSize, depth: vit.encoder.depth, width: vit.encoder.width,
    heads: vit.encoder.heads, hidden: vit.projector!.hidden, out: vit.projector!.out, batch, threads: 1, steps,
  });
  const r = spawnSync(py, [join(__dirname, '..', 'scripts', 'torch_pretrain_step.py'), arg], { encoding: 'utf8', timeout: 600_000 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return (JSON.parse(line) as { images_per_s: number }).images_per_s;
  } catch {
    console.log(`torch twin failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
    return NaN;
  }
}

async function main(): Promise<void> {
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  await initBackend({ force: 'cpu', log: null });
  const py = torchPython();
  if (!py) console.log('no python3 with torch found (apt install python3-torch): the twin column is empty');
  const cases: [string, ViTConfig, number][] = [
    ['mnist-ssl (slow-test ViT)', MNIST_SSL_VIT, 64],
    ['cpu-tiny-mnist', getPreset('cpu-tiny-mnist'), 16],
  ];
  const rows: Row[] = [];
  const steps = quick() ? 2 : 4;
  for (const [name, vit, batch] of cases) {
    const setup = setupPretraining(vit, pretrainConfig('epg', { totalSteps: 1000 }), 1);
    const shape: [number, number, number, number] = [batch, vit.imageSize, vit.imageSize, vit.channels];
    const x0 = tf.randomNormal(shape, 0, 0.5, 'float32', 1) as tf.Tensor4D;
    const v1 = tf.randomNormal(shape, 0, 0.5, 'float32', 2) as tf.Tensor4D;
    const v2 = tf.randomNormal(shape, 0, 0.5, 'float32', 3) as tf.Tensor4D;
    const t = await measure(() => setup.pretrainer.step({ x0, view1: v1, view2: v2 }), { warmup: 1, minIterations: steps, maxIterations: steps, minTimeMs: 0 });
    tf.dispose([x0, v1, v2]);
    setup.dispose();
    const ours = (batch * 1000) / t.medianMs;
    const twin = py ? torchTwin(py, vit, batch, steps) : NaN;
    rows.push({ preset: name, batch, 'tfjs img/s': ours.toFixed(1), 'torch img/s': twin.toFixed(1), 'ratio tfjs/torch': (ours / twin).toFixed(3) });
  }
  printTable('EPG pre-training step (images/s, 1 thread; PyTorch twin in the same run)', rows);
}

void main();
