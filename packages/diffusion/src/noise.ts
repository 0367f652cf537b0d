/**
 * Per-sample random streams for sampling: image i's latents and churn noise come only from seed i,
 * never from its place in a batch [EDM `StackedRandomGenerator`; openai cm `DeterministicGenerator`].
 */
import * as tf from '@tensorflow/tfjs-core';
import { RandomStream } from '@epg/tensor';

export class PerSampleNoise {
  private constructor(private readonly streams: readonly RandomStream[]) {}

  /**
   * One stream per seed: RandomStream.derive(seed, 0, name). Use distinct names for distinct uses
   * (default 'latent' for x_T; samplers' churn noise uses 'churn').
   */
  static fromSeeds(seeds: readonly number[], name = 'latent'): PerSampleNoise {
    if (seeds.length === 0) throw new RangeError('PerSampleNoise.fromSeeds needs at least one seed');
    return new PerSampleNoise(seeds.map((s) => RandomStream.derive(s, 0, name)));
  }

  get batchSize(): number {
    return this.streams.length;
  }

  /** Next standard-normal draw [B, H, W, C]; row i from stream i. The caller disposes it. */
  next(imageShape: readonly [number, number, number]): tf.Tensor4D {
    const per = imageShape[0] * imageShape[1] * imageShape[2];
    const data = new Float32Array(per * this.streams.length);
    this.streams.forEach((rs, i) => rs.fillNormal(data.subarray(i * per, (i + 1) * per)));
    return tf.tensor4d(data, [this.streams.length, ...imageShape]);
  }
}

/** Unit-normal latents [B, H, W, C] for the given seeds (stream 'latent'). The caller disposes them. */
export function latentsFromSeeds(seeds: readonly number[], imageShape: readonly [number, number, number]): tf.Tensor4D {
  return PerSampleNoise.fromSeeds(seeds, 'latent').next(imageShape);
}
