/**
 * Sampling a live fine-tuning network (no checkpoint): epg-eval's and epg-train's grids and FID
 * samples (generateSamples restores a checkpoint and calls this), and the grids written during
 * training. Imports no stage, so the stages can use it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkFn } from '@epg/contracts';
import { sampleConsistencyMultistep, sampleConsistencyOneStep } from '@epg/consistency';
import { quantizeUnitRange } from '@epg/metrics';
import { shiftedGrid, type NoiseSpace } from '@epg/schedules';
import { RandomStream, normalTensor } from '@epg/tensor';
import { cmDenoiser, dmSampleHeun } from '../networks';
import type { RunContext } from '../stages/common';

/**
 * `count` images of a live fine-tuning network (its store in eval mode) as uint8 pixels: the sampling of
 * generateSamples without the checkpoint, also used for the grids written during training. Latents
 * of chunk i come from RandomStream.derive(seed, i, '<objective>-latents'). Tensors are disposed.
 */
export function sampleNetwork(
  ctx: Pick<RunContext, 'vit' | 'config'>,
  objective: 'consistency' | 'diffusion',
  network: NetworkFn,
  space: NoiseSpace,
  opts: { readonly count: number; readonly steps: number; readonly seed: number; readonly chunk?: number },
): Uint8Array {
  const { vit } = ctx;
  const { steps, seed } = opts;
  const chunk = opts.chunk ?? 100;
  // CM grid: the first `steps` points of the (steps+1)-point Karras grid, so every point stays above σ_min'.
  const sigmas = objective === 'consistency' ? (steps === 1 ? shiftedGrid(space, 1) : shiftedGrid(space, steps + 1).slice(0, steps)) : shiftedGrid(space, steps);
  const per = vit.imageSize * vit.imageSize * vit.channels;
  const out = new Uint8Array(opts.count * per);
  for (let i = 0; i < opts.count; i += chunk) {
    const B = Math.min(chunk, opts.count - i);
    const pixels = tf.tidy(() => {
      const latents = normalTensor(RandomStream.derive(seed, i, `${objective}-latents`), [B, vit.imageSize, vit.imageSize, vit.channels]) as tf.Tensor4D;
      if (objective === 'consistency') {
        const denoiser = cmDenoiser(network, space);
        return steps === 1
          ? sampleConsistencyOneStep(denoiser, latents, sigmas).x
          : sampleConsistencyMultistep(denoiser, latents, sigmas, { sigmaMin: space.sigmaMin, noise: RandomStream.derive(seed, i, 'consistency-renoise') }).x;
      }
      const labels = tf.tensor1d(Int32Array.from({ length: B }, (_, j) => (i + j) % vit.numClasses), 'int32');
      return dmSampleHeun(network, space, latents, sigmas, labels, { scale: ctx.config.eval.guidance, numClasses: vit.numClasses });
    });
    out.set(quantizeUnitRange(pixels), i * per);
    pixels.dispose();
  }
  return out;
}

