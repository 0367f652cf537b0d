/**
 * Small-image pre-training recipes (docs/ssl.md, "Small images"): the 28-px view pairs (from @epg/data)
 * and the assembly of an online/target ViT with a Pretrainer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { noiseSpace, type NoiseSpace } from '@epg/schedules';
import { Pretrainer, type PretrainConfig } from '@epg/ssl';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { buildPretrainModel, makeEncoderFn, type ViTConfig } from '@epg/vit';
import { encoderAt } from '@epg/contracts';

export { MNIST_VIEW1, MNIST_VIEW2, MNIST_PAIR, FASHION_PAIR } from '@epg/data';

export interface PretrainSetup {
  readonly onlineStore: ParameterStore;
  readonly targetStore: ParameterStore;
  readonly pretrainer: Pretrainer;
  readonly space: NoiseSpace;
  readonly vit: ViTConfig;
  /** The online encoder at σ (eval mode: BN running statistics), for probes. */
  readonly features: (x: tf.Tensor4D, sigma: Float64Array) => tf.Tensor2D;
  dispose(): void;
}

/** Online ViT (MoCo init from `seed`), its clone as the target, and the Pretrainer of `cfg`. */
export function setupPretraining(vit: ViTConfig, cfg: PretrainConfig, seed: number): PretrainSetup {
  const space = noiseSpace(vit.imageSize, { shift: cfg.shift });
  const onlineStore = ParameterStore.create();
  buildPretrainModel(onlineStore, vit, { rng: RandomStream.derive(seed, 0, 'vit-init') });
  const targetStore = onlineStore.clone();
  const online = encoderAt(makeEncoderFn(onlineStore, vit), space);
  const target = encoderAt(makeEncoderFn(targetStore, vit), space);
  const pretrainer = Pretrainer.create(cfg, { online, target, onlineStore, targetStore }, { space, seed, projectionDim: vit.projector?.out });
  const features = (x: tf.Tensor4D, sigma: Float64Array) => {
    const training = onlineStore.training;
    onlineStore.eval();
    try {
      const out = online(x, sigma);
      out.proj?.dispose();
      return out.cls;
    } finally {
      if (training) onlineStore.train();
    }
  };
  return {
    onlineStore, targetStore, pretrainer, space, vit, features,
    dispose() {
      pretrainer.dispose();
      onlineStore.dispose();
      targetStore.dispose();
    },
  };
}
