/**
 * The ViT behind `config.model.preset`: a @epg/vit preset name, or one of the app's own small MNIST
 * shapes below (sized so that `mnist-quick`'s stages take minutes on two CPU cores).
 */
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';
import { getPreset, presetNames, type ViTConfig } from '@epg/vit';
import type { RunConfig } from './config';

/**
 * cpu-tiny-mnist shrunk as the integration test's MNIST pre-training encoder: patch 7 (16 tokens),
 * depth 2, width 64, a 256→64 projector; the decoder has the encoder's size.
 */
const MICRO = { depth: 2, width: 64, heads: 2 };
export const APP_MODEL_PRESETS: Readonly<Record<string, () => ViTConfig>> = {
  'cpu-micro-mnist': () =>
    getPreset('cpu-tiny-mnist', { name: 'cpu-micro-mnist', patchSize: 7, encoder: MICRO, decoder: MICRO, projector: { hidden: 256, out: 64 } }),
};

/** The ViT config of a run (decoder dropout from the run config). */
export function resolveVit(config: RunConfig): E.Either<EpgError, ViTConfig> {
  const name = config.model.preset;
  const make = APP_MODEL_PRESETS[name];
  const known = [...Object.keys(APP_MODEL_PRESETS), ...presetNames()];
  if (!make && !known.includes(name)) {
    return E.left(epgError('config', `config field model.preset is '${name}': not a model preset`, `use one of ${known.join(', ')}`));
  }
  const base = make ? make() : getPreset(name);
  const dataset = config.data.dataset;
  if ((dataset === 'mnist' || dataset === 'fashion-mnist') && (base.imageSize !== 28 || base.channels !== 1)) {
    return E.left(epgError('config', `model preset '${name}' is for ${base.imageSize}px ${base.channels}-channel images, but ${dataset} is 28px grey`, 'use cpu-micro-mnist or cpu-tiny-mnist'));
  }
  return E.right({ ...base, decoderDropout: config.model.decoderDropout });
}
