/**
 * Export of a fine-tuned model for inference elsewhere (the browser demo, apps/web): two files in
 * `outDir`, nothing else of the run.
 *
 *  - `model.safetensors`: the fine-tuned store's tensors by ParameterStore name, float32, from the
 *    run's latest checkpoint of the objective (section `model`).
 *  - `model.json`: `{format: 'epg-export', version: 1, objective, vit, noise, numClasses, imageSize,
 *    channels, preset, variants, seed, step, sha256}`: the resolved ViTConfig, the NoiseSpace the
 *    stage trained in (finetuneSpace), and the hex SHA-256 of model.safetensors, which readers check.
 *
 * `numClasses` is the number of classes a sampler may condition on: epg-train's consistency stage
 * trains without labels (finetune.ts passes no cond), so its exports say 0 even when the ViT has a
 * class embedding (`vit.numClasses`); a sampler passes labels only when numClasses > 0.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { encodeSafetensors, epgError, isEpgError, restoreStore, toEpgError, type EpgError, type ParameterStore } from '@epg/tensor';
import type { NoiseSpace } from '@epg/schedules';
import { EXPORT_FORMAT, EXPORT_MANIFEST, EXPORT_VERSION, EXPORT_WEIGHTS, type ExportManifest, type ViTConfig } from '@epg/vit';
import { decodeRunConfig, type RunConfig } from './config';
import { resolveVit } from './models';
import { CONFIG_FILE } from './run-dir';
import { latestCheckpoint } from './stages/common';
import { assembleNetwork, finetuneSpace, type Objective } from './stages/finetune';

// The manifest's format lives with the network config (@epg/vit), where the readers find it too.
export { EXPORT_FORMAT, EXPORT_VERSION, EXPORT_WEIGHTS, EXPORT_MANIFEST } from '@epg/vit';
export type { ExportManifest } from '@epg/vit';

export interface ExportOptions {
  readonly runDir: string;
  readonly objective: Objective;
  readonly outDir: string;
}

/** Writes a store's tensors and its manifest to `outDir` (the lower half of exportModel; tests use it for fixtures). */
export function writeExport(o: {
  readonly store: ParameterStore;
  readonly vit: ViTConfig;
  readonly noise: NoiseSpace;
  readonly numClasses: number;
  readonly preset: string;
  readonly variants: readonly string[];
  readonly seed: number;
  readonly step: number;
  readonly outDir: string;
}): E.Either<EpgError, ExportManifest> {
  return E.tryCatch(() => {
    const named: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const e of o.store.entries()) {
      const values = e.variable.dataSync();
      if (!(values instanceof Float32Array)) throw epgError('format', `export: parameter '${e.name}' is ${e.variable.dtype}, expected float32`);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) throw epgError('format', `export: parameter '${e.name}' holds a non-finite value at ${i}`, 'export an earlier checkpoint of the run');
      }
      named[e.name.slice(o.store.prefix.length)] = { data: values, shape: [...e.variable.shape] };
    }
    const bytes = encodeSafetensors(named, { format: EXPORT_FORMAT });
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      objective: 'consistency',
      vit: o.vit,
      noise: o.noise,
      numClasses: o.numClasses,
      imageSize: o.vit.imageSize,
      channels: o.vit.channels,
      preset: o.preset,
      variants: [...o.variants],
      seed: o.seed,
      step: o.step,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    mkdirSync(o.outDir, { recursive: true });
    // Weights first, manifest last: a reader that finds model.json finds the weights it names.
    for (const [name, data] of [[EXPORT_WEIGHTS, bytes], [EXPORT_MANIFEST, JSON.stringify(manifest, null, 2) + '\n']] as const) {
      const path = join(o.outDir, name);
      writeFileSync(`${path}.tmp`, data);
      renameSync(`${path}.tmp`, path);
    }
    return manifest;
  }, (e) => (isEpgError(e) ? e : epgError('io', `export: cannot write ${o.outDir} (${(e as Error).message})`, 'choose a writable output directory')));
}

/** Exports the latest `objective` checkpoint of the run in `runDir` to `outDir` (see the module comment). */
export function exportModel(o: ExportOptions): E.Either<EpgError, ExportManifest> {
  if (o.objective !== 'consistency') {
    return E.left(epgError('config', `export: objective '${o.objective}' is not exportable yet`, "export the 'consistency' model (one-step sampling)"));
  }
  let config: RunConfig;
  try {
    const decoded = decodeRunConfig(JSON.parse(readFileSync(join(o.runDir, CONFIG_FILE), 'utf8')));
    if (E.isLeft(decoded)) return E.left(epgError('format', `export: ${join(o.runDir, CONFIG_FILE)} is invalid (${decoded.left.message})`));
    config = decoded.right;
  } catch (e) {
    return E.left(epgError('io', `export: cannot read ${join(o.runDir, CONFIG_FILE)} (${(e as Error).message})`, 'pass the directory of an epg-train run (e.g. runs/mnist-quick-s0 after `pnpm train all`)'));
  }
  const vit = resolveVit(config);
  if (E.isLeft(vit)) return vit;
  const log = () => undefined;
  const ctx = { dir: o.runDir, config, vit: vit.right, log };
  const ck = E.tryCatch(() => latestCheckpoint(o.runDir, o.objective), toEpgError);
  if (E.isLeft(ck)) return ck;
  if (!ck.right) return E.left(epgError('io', `export: ${o.runDir} has no ${o.objective} checkpoint`, `run \`pnpm train all --run ${o.runDir}\` (or the ${o.objective} stage) first`));
  const checkpoint = ck.right;
  const assembled = E.tryCatch(() => assembleNetwork(ctx, o.objective, null), toEpgError);
  if (E.isLeft(assembled)) return assembled;
  const { store } = assembled.right;
  try {
    // The weights sampling uses: the evaluation EMA when the stage keeps one, else the trained ones.
    const restored = restoreStore(store, checkpoint, config.consistency?.ema != null ? 'ema' : 'model');
    if (E.isLeft(restored)) return E.left(restored.left);
    return writeExport({
      store,
      vit: vit.right,
      noise: finetuneSpace(vit.right, config.noise),
      numClasses: 0, // the consistency stage trains without labels (module comment)
      preset: config.preset,
      variants: config.variants,
      seed: config.seed,
      step: checkpoint.sidecar.step,
      outDir: o.outDir,
    });
  } finally {
    store.dispose();
  }
}
