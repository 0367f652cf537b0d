/**
 * Small-image pre-training recipes (docs/ssl.md, "Small images"): the MoCo v3 view pair adapted to
 * 28-px one-channel digits and clothes, and the assembly of an online/target ViT with a Pretrainer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MOCO_V3_VIEW1, MOCO_V3_VIEW2, type PairConfig, type ViewConfig } from '@epg/data';
import { noiseSpace, type NoiseSpace } from '@epg/schedules';
import { Pretrainer, type PretrainConfig } from '@epg/ssl';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { buildPretrainModel, makeEncoderFn, type ViTConfig } from '@epg/vit';
import { encoderAt } from '@epg/contracts';

/**
 * Grey 28-px views. Against MoCo v3 at 224 px: crop scale (0.3, 1) instead of (0.08, 1) (an 8% crop
 * of a digit is one stroke); saturation, hue and grayscale off (no-ops on one channel); brightness and
 * contrast kept; blur σ ∈ [0.1, 1.0] px instead of [0.1, 2.0] (2 px is a 10th of the image here, as a
 * 23-px blur on 224); solarize off (it erases white-on-black strokes); no flips (mirrored digits are
 * other symbols or none). View 1 blurs always, view 2 with p 0.1, as MoCo v3.
 */
const GREY_28: Omit<ViewConfig, 'blurProb' | 'solarizeProb' | 'flipProb'> = {
  ...MOCO_V3_VIEW1,
  cropScale: [0.3, 1],
  saturation: 0,
  hue: 0,
  grayscaleProb: 0,
  blurSigma: [0.1, 1.0],
};
export const MNIST_VIEW1: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW1.blurProb, solarizeProb: 0, flipProb: 0 };
export const MNIST_VIEW2: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW2.blurProb, solarizeProb: 0, flipProb: 0 };

/** MNIST: the grey views, no flip of x₀ either. */
export const MNIST_PAIR: PairConfig = { size: 28, channels: 1, normalization: 'minus-one-one', view1: MNIST_VIEW1, view2: MNIST_VIEW2, x0FlipProb: 0 };
/** Fashion-MNIST: as MNIST but clothes are left–right symmetric, so views and x₀ flip with p 0.5, and solarize keeps MoCo's p 0.2 on view 2. */
export const FASHION_PAIR: PairConfig = {
  ...MNIST_PAIR,
  view1: { ...MNIST_VIEW1, flipProb: 0.5 },
  view2: { ...MNIST_VIEW2, flipProb: 0.5, solarizeProb: MOCO_V3_VIEW2.solarizeProb },
  x0FlipProb: 0.5,
};

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
