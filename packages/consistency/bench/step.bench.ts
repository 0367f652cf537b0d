/**
 * Cost of a consistency step against a diffusion step of the same network, measured in the same run.
 * The CM step adds one forward pass (the 0-EMA target, evaluated outside the gradient tape) to the
 * forward + backward of the online pass, so without the auxiliary term it should cost about
 * (F + (F + B)) / (F + B) ≈ 4/3 of a DM step, and at most 1.6× (docs/consistency.md, "Cost").
 * The network is the dense toy of src/testing (the package never imports @epg/vit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, quick, withRatios, type Row } from '@epg/bench';
import { EPG_DM_CONFIG, boundaryDenoiser, diffusionTrainStep, x0Denoiser } from '@epg/diffusion';
import { noiseSpace } from '@epg/schedules';
import { AdamW, RandomStream, initBackend, normalTensor } from '@epg/tensor';
import { consistencyTrainStep } from '../src';
import { toyNetwork } from '../src/testing/toys';

async function main(): Promise<void> {
  const rows: Row[] = [];
  const backends = process.env.EPG_BACKEND ? [process.env.EPG_BACKEND] : ['cpu', 'wasm'];
  for (const backend of backends) {
    await initBackend({ force: backend as 'cpu' | 'wasm', log: null });
    const [B, H, hidden] = quick() ? [8, 16, 256] : [32, 32, 1024];
    const shape = `${B}x${H}x${H}x3, hidden ${hidden}`;
    const space = noiseSpace(H);
    const net = toyNetwork({ pixels: [H, H, 3], hidden, seed: 1 });
    const dm = x0Denoiser(net.network, space);
    const cm = boundaryDenoiser(net.network, space);
    const x0 = tf.tidy(() => tf.tanh(normalTensor(RandomStream.fromSeed(2), [B, H, H, 3])) as tf.Tensor4D);
    const optimizer = new AdamW(net.store, { lr: 1e-5 });
    let k = 0;
    const time = async (name: string, f: () => void) => {
      const t = await measure(f, { minIterations: quick() ? 3 : 10, warmup: 2 });
      rows.push({ backend, shape, step: name, ms: t.medianMs });
    };
    await time('DM step (diffusionTrainStep)', () => {
      diffusionTrainStep({ store: net.store, optimizer, denoiser: dm, x0, rs: RandomStream.derive(3, k++, 'dm'), space, config: EPG_DM_CONFIG });
    });
    await time('CM step, no aux (consistencyTrainStep)', () => {
      consistencyTrainStep({ store: net.store, optimizer, denoiser: cm, x0, rs: RandomStream.derive(3, k++, 'cm'), space });
    });
    tf.dispose(x0);
    optimizer.dispose();
    net.store.dispose();
  }
  const table = withRatios(
    rows.map((r) => ({ ...r, group: `${r.backend} ${r.shape}` })),
    { value: 'ms', groupKey: 'group', baselineKey: 'step', baseline: 'DM step (diffusionTrainStep)' },
  ).map(({ group: _g, ...r }) => r);
  printTable('CM vs DM training step, same network (median ms; ratio against the DM step, same run; target ≤ 1.6)', table);
}

void main();
