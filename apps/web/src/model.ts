/**
 * An exported consistency model made ready to sample: the manifest checked, the weights' SHA-256
 * checked, and the network built by @epg/vit (buildFinetuneNetwork, the trainer's network) with every
 * tensor of model.safetensors assigned by name, and wrapped in @epg/diffusion's boundary denoiser
 * (the trainer's cmDenoiser) in the export's noise space. Runs in the page and in Node alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser } from '@epg/contracts';
import { boundaryDenoiser } from '@epg/diffusion';
import { noiseSpace, type NoiseSpace } from '@epg/schedules';
import { ParameterStore, RandomStream, decodeSafetensors, epgError, isEpgError, type EpgError } from '@epg/tensor';
import { buildFinetuneNetwork } from '@epg/vit';
import { checkManifest, sha256Hex, type Manifest } from './manifest';

export interface LoadedModel {
  readonly manifest: Manifest;
  readonly space: NoiseSpace;
  readonly store: ParameterStore;
  readonly denoiser: Denoiser;
  /** Frees the weights (the store's variables). */
  dispose(): void;
}

/** The export's noise space rebuilt by @epg/schedules from its stored fields; an error if they disagree. */
function rebuildSpace(m: Manifest): NoiseSpace | EpgError {
  const n = m.noise;
  const space = noiseSpace(m.imageSize, { shift: n.shift, karras: n.karras, sigmaData: n.sigmaData, timeEncoding: n.timeEncoding, guidanceInterval: n.guidanceInterval });
  for (const k of ['resolution', 'shift', 'sigmaData', 'timeEncoding', 'sigmaMin', 'sigmaMax'] as const) {
    if (space[k] !== n[k]) return epgError('format', `model.json: noise.${k} is ${String(n[k])} but its other fields give ${String(space[k])}`, 'export the run again');
  }
  return space;
}

/**
 * Checks and loads an export: `manifestValue` is model.json parsed, `weights` the bytes of
 * model.safetensors. Rejects (an EpgError with a one-line message) on a wrong format, version or
 * SHA-256, or weights that do not fit the network. The caller disposes the result.
 */
export async function loadModel(manifestValue: unknown, weights: Uint8Array | ArrayBuffer): Promise<LoadedModel> {
  const manifest = checkManifest(manifestValue);
  if (isEpgError(manifest)) throw manifest;
  const bytes = weights instanceof Uint8Array ? weights : new Uint8Array(weights);
  const sha = await sha256Hex(bytes);
  if (sha !== manifest.sha256) {
    throw epgError('format', `model.safetensors does not match model.json (SHA-256 ${sha.slice(0, 12)}… but model.json says ${manifest.sha256.slice(0, 12)}…)`, 'copy both files of one export');
  }
  const space = rebuildSpace(manifest);
  if (isEpgError(space)) throw space;
  const { tensors } = decodeSafetensors(bytes, 'model.safetensors');
  const store = ParameterStore.create();
  try {
    // The initialisation is overwritten below: every parameter must come from the file.
    const network = buildFinetuneNetwork(store, manifest.vit, { rng: RandomStream.fromSeed(0) });
    const names = store.names();
    const unknown = [...tensors.keys()].find((n) => !store.has(n));
    if (unknown !== undefined) throw epgError('format', `model.safetensors has tensor '${unknown}', which the network of model.json does not have`, 'copy both files of one export');
    for (const name of names) {
      const t = tensors.get(name);
      const v = store.get(name);
      if (!t) throw epgError('format', `model.safetensors lacks tensor '${name}' of the network`, 'copy both files of one export');
      if (t.dtype !== 'F32' || t.shape.join(',') !== v.shape.join(',')) {
        throw epgError('format', `model.safetensors: tensor '${name}' is ${t.dtype} [${t.shape}], the network expects F32 [${v.shape}]`, 'copy both files of one export');
      }
      const value = tf.tensor(t.data as Float32Array, [...t.shape], 'float32');
      v.assign(value);
      value.dispose();
    }
    store.eval();
    return { manifest, space, store, denoiser: boundaryDenoiser(network, space), dispose: () => store.dispose() };
  } catch (e) {
    store.dispose();
    throw e;
  }
}
