/**
 * A small class-conditional consistency-model export for tests: the fine-tuning ViT of epg-train's
 * cpu-micro-mnist shape, initialised from a fixed seed and then perturbed (σ 0.05, fixed seed) so
 * that the zero-initialised output head and adaLN modulation do not make the network the identity
 * of the boundary parameterisation. Written by epg-train's writeExport, as `epg-eval export` writes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeExport, type ExportManifest } from 'epg-train';
import { noiseSpace } from '@epg/schedules';
import { ParameterStore, RandomStream, normalTensor, orThrow } from '@epg/tensor';
import { buildFinetuneNetwork, getPreset, type ViTConfig } from '@epg/vit';
import type { NetworkFn } from '@epg/contracts';

const MICRO = { depth: 2, width: 64, heads: 2 };
export const FIXTURE_VIT: ViTConfig = getPreset('cpu-tiny-mnist', { name: 'cpu-micro-mnist', patchSize: 7, encoder: MICRO, decoder: MICRO, projector: { hidden: 256, out: 64 } });

/** The fixture's store and network; the caller disposes the store. */
export function buildFixture(seed = 7): { store: ParameterStore; network: NetworkFn } {
  const store = ParameterStore.create();
  const network = buildFinetuneNetwork(store, FIXTURE_VIT, { rng: RandomStream.derive(seed, 0, 'web-fixture-init') });
  const rs = RandomStream.derive(seed, 0, 'web-fixture-perturb');
  for (const e of store.entries()) {
    tf.tidy(() => e.variable.assign(tf.add(e.variable, normalTensor(rs, e.variable.shape, 0, 0.05))));
  }
  return { store, network };
}

/** Writes the fixture export (class-conditional: numClasses 10) to `outDir`; returns its manifest. */
export function writeFixtureExport(outDir: string, seed = 7): ExportManifest {
  const { store } = buildFixture(seed);
  try {
    return orThrow(
      writeExport({ store, vit: FIXTURE_VIT, noise: noiseSpace(FIXTURE_VIT.imageSize), numClasses: FIXTURE_VIT.numClasses, preset: 'web-fixture', variants: [], seed, step: 0, outDir }),
    );
  } finally {
    store.dispose();
  }
}
