/**
 * The EPG pre-training stage this check starts from. It is @epg/ssl's pre-training step, which is being
 * written on another branch; until it is merged this returns undefined and the slow test reports the
 * pre-trained arm as not run (it never substitutes another pre-training).
 *
 * Wiring, once @epg/ssl is on main: build the pre-training model (buildPretrainModel(store, cfg)), run
 * `steps` of ssl's pre-training step on `images` with fixed seeds, return the store.
 */
import type { ParameterStore } from '@epg/tensor';
import type { ViTConfig } from '@epg/vit';

export interface PretrainInput {
  readonly cfg: ViTConfig;
  /** Normalised MNIST images [N, 28, 28, 1] as host floats in [−1, 1]. */
  readonly images: Float32Array;
  readonly count: number;
  readonly steps: number;
  readonly seed: number;
}

export function pretrainEncoder(_input: PretrainInput): ParameterStore | undefined {
  return undefined;
}
