/**
 * The end of `epg-train all`: sample grids (one-step CM, Heun DM), domain FID of generated images
 * against the test set (docs/metrics.md, "Domain FID"), loss curves and the report.
 */
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sampleConsistencyOneStep } from '@epg/consistency';
import { loadFashionMnist, loadMnist, writePngGrid } from '@epg/data';
import { computeStatistics, ensureDomainClassifier, frechetDistance, quantizeUnitRange } from '@epg/metrics';
import { shiftedGrid } from '@epg/schedules';
import { RandomStream, normalTensor, restoreStore } from '@epg/tensor';
import { readRecords, renderCurveSvg, writeReport, type ReportFigure, type ReportSection, type ReportTable } from '@epg/runs';
import { cmDenoiser, dmSampleHeun } from '../networks';
import { latestCheckpoint, metricsPath, orThrow, type RunContext } from './common';
import { assembleNetwork, finetuneSpace, type Objective } from './finetune';
import { writeFileSync } from 'node:fs';

/** One result block before it becomes a report section. */
interface Block {
  readonly title: string;
  readonly rows?: readonly (readonly [string, string])[];
  readonly images?: readonly { readonly path: string; readonly caption: string }[];
}

/** `count` generated images of a fine-tuned model as uint8 pixels, in batches of `chunk`. */
export function generate(ctx: RunContext, objective: Objective, count: number, chunk = 100): Uint8Array {
  const { vit, config } = ctx;
  const space = finetuneSpace(vit, config.noise);
  const ck = latestCheckpoint(ctx.dir, objective);
  if (!ck) throw new Error(`no ${objective} checkpoint in ${ctx.dir}`);
  const { store, network } = assembleNetwork(ctx, objective, null);
  try {
    orThrow(restoreStore(store, ck, 'model'));
    store.eval();
    const per = vit.imageSize * vit.imageSize * vit.channels;
    const out = new Uint8Array(count * per);
    for (let i = 0; i < count; i += chunk) {
      const B = Math.min(chunk, count - i);
      const pixels = tf.tidy(() => {
        const latents = normalTensor(RandomStream.derive(config.seed, i, `${objective}-latents`), [B, vit.imageSize, vit.imageSize, vit.channels]) as tf.Tensor4D;
        let x: tf.Tensor4D;
        if (objective === 'consistency') {
          x = sampleConsistencyOneStep(cmDenoiser(network, space), latents, shiftedGrid(space, 1)).x;
        } else {
          const labels = tf.tensor1d(Int32Array.from({ length: B }, (_, j) => (i + j) % vit.numClasses), 'int32');
          x = dmSampleHeun(network, space, latents, shiftedGrid(space, config.eval.heunSteps), labels);
        }
        return x;
      });
      out.set(quantizeUnitRange(pixels), i * per);
      pixels.dispose();
    }
    return out;
  } finally {
    store.dispose();
  }
}

export interface EvalSummary {
  readonly fid: Partial<Record<Objective, number>>;
  readonly report: string;
}

export async function runEvaluate(ctx: RunContext): Promise<EvalSummary> {
  const { config, vit, dir } = ctx;
  const objectives = (['consistency', 'diffusion'] as const).filter((o) => config[o] !== null);
  const size = vit.imageSize;
  const dataset = config.data.dataset === 'fashion-mnist' ? 'fashion-mnist' : 'mnist';
  const test = orThrow(dataset === 'mnist' ? loadMnist('test') : loadFashionMnist('test'));
  const sections: Block[] = [];
  const fid: Partial<Record<Objective, number>> = {};
  ctx.log(`evaluate: domain classifier for ${dataset} (trained and cached on first use)`);
  const domain = ensureDomainClassifier(dataset, { log: ctx.log });
  try {
    const ref = computeStatistics(domain.extractor, test);
    for (const o of objectives) {
      const t0 = performance.now();
      const n = Math.max(config.eval.fidSamples, config.eval.gridSize);
      const pixels = generate(ctx, o, n);
      const grid = join(dir, 'samples', o === 'consistency' ? 'cm-one-step.png' : `dm-heun${config.eval.heunSteps}.png`);
      orThrow(await writePngGrid(grid, pixels.subarray(0, config.eval.gridSize * size * size * vit.channels), config.eval.gridSize, size, size, vit.channels)());
      const stats = computeStatistics(domain.extractor, { images: pixels.subarray(0, config.eval.fidSamples * size * size * vit.channels), count: config.eval.fidSamples, height: size, width: size, channels: vit.channels });
      fid[o] = frechetDistance(stats, ref);
      ctx.log(`evaluate: ${o} domain-FID ${fid[o]!.toFixed(2)} (${config.eval.fidSamples} samples vs ${test.count} test images, ${((performance.now() - t0) / 1000).toFixed(1)}s); grid ${grid}`);
      sections.push({
        title: o === 'consistency' ? 'Consistency model (one step)' : `Diffusion model (Heun, ${config.eval.heunSteps} steps)`,
        rows: [[`domain-FID (${dataset} classifier, ${config.eval.fidSamples} samples)`, fid[o]!.toFixed(2)]],
        images: [{ path: relative(dir, grid), caption: `${config.eval.gridSize} samples` }],
      });
    }
  } finally {
    domain.store.dispose();
  }
  // Curves: total loss and named terms per stage.
  const records = orThrow(readRecords(metricsPath(dir)));
  const curves: ReportFigure[] = [];
  for (const stage of ['pretrain', 'consistency', 'diffusion']) {
    const recs = records.filter((r) => r.phase === stage);
    if (recs.length === 0) continue;
    const series = Object.keys(recs[0].values).filter((k) => !['lr', 'imgPerSec', 'skipped'].includes(k));
    const path = join(dir, 'curves', `${stage}.svg`);
    writeFileSync(path, await renderCurveSvg(recs, { title: `${stage} loss`, phase: stage, series }));
    curves.push({ src: relative(dir, path), caption: `${stage} loss` });
  }
  const table = (rows: readonly (readonly [string, string])[]): ReportTable => ({ columns: ['', ''], rows });
  const runRows: [string, string][] = [
    ['preset', config.preset + (config.variants.length ? ` + ${config.variants.join(' + ')}` : '')],
    ['model', `${config.model.preset} (${vit.encoder.depth}×${vit.encoder.width} encoder, patch ${vit.patchSize})`],
    ['seed', String(config.seed)],
    ...(['pretrain', 'consistency', 'diffusion'] as const).flatMap((s): [string, string][] => {
      const c = config[s];
      return c ? [[s, `${c.steps} steps × batch ${c.batch}`]] : [];
    }),
  ];
  const all: ReportSection[] = [
    { heading: 'Run', table: table(runRows), links: [{ href: 'config.json', label: 'resolved config' }, { href: 'metrics.jsonl', label: 'metrics (JSON Lines)' }] },
    ...sections.map((s) => ({ heading: s.title, ...(s.rows ? { table: table(s.rows) } : {}), figures: (s.images ?? []).map((im) => ({ src: im.path, caption: im.caption })) })),
    { heading: 'Loss curves', figures: curves },
  ];
  const out = orThrow(writeReport(dir, { title: `epg-train: ${config.preset}`, sections: all }));
  return { fid, report: out.html };
}
