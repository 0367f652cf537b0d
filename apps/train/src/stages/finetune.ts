/**
 * Stage 2: fine-tuning the pre-trained encoder plus a fresh decoder as a consistency model
 * (docs/consistency.md: ECT pairs, EPG distance, frozen-encoder auxiliary loss) or as a diffusion
 * model (docs/diffusion.md: x₀ prediction, lognormal-grid σ). The encoder comes from the run's
 * pre-training checkpoint, or is random when the config has no pre-training ('scratch').
 * Checkpoint sections: `model`, optimiser, and `ema` when the stage's `ema` decay is set (EPG samples
 * from an evaluation EMA of rate 0.9999; the short CPU presets set it to null and sample the trained
 * weights, docs/decisions.md). DM uses EPG's optimiser recipe scaled to the run's length
 * (EPG_DM_OPTIMIZER, dmShortRun: AdamW (0.9, 0.999), wd 0.01 without decay on the position
 * embedding and class token, 1 % warm-up then cosine, clip after the warm-up).
 */
import * as E from 'fp-ts/Either';
import {
  EPG_CM_ECT,
  EPG_CM_OPTIMIZER,
  cmLearningRate,
  consistencyTrainStep,
  type AuxiliaryLossOptions,
  type DistanceOptions,
} from '@epg/consistency';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { plainPrepare, plainToTensors, writePngGrid } from '@epg/data';
import { EDM_CONFIG, EPG_DM_CONFIG, EPG_DM_OPTIMIZER, dmLearningRate } from '@epg/diffusion';
import { cmShortRun, dmClipActive, dmShortRun, noiseSpace, type NoiseSpace } from '@epg/schedules';
import { AdamW, ParameterStore, RandomStream, emaUpdate, epgError, restoreStore } from '@epg/tensor';
import type { NetworkFn } from '@epg/contracts';
import { assembleFinetune, finetuneParamGroups, freezeEncoder, isEncoderParam, type ViTConfig } from '@epg/vit';
import type { RunConfig } from '../config';
import { cmDenoiser, dmTrainStep, encoderAt } from '../networks';
import { sampleNetwork } from '../eval/sample';
import { buildPretrainStores } from './pretrain';
import { latestCheckpoint, orThrow, runStage, trainImages, withTensors, type RunContext, type StageName } from './common';

export type Objective = 'consistency' | 'diffusion';

/**
 * The fine-tuning noise space: EPG's shift H/64, time 250·ln σ. The config's `noise` section, when
 * set, replaces the σ range before the shift and σ_data; null keeps EPG's (Karras 0.002–80, σ_data 0.5).
 * `noise` is required so that every caller (training and every sampler) passes the run's section.
 */
export const finetuneSpace = (vit: ViTConfig, noise: RunConfig['noise']): NoiseSpace =>
  noiseSpace(vit.imageSize, noise ? { karras: { sigmaMin: noise.sigmaMin, sigmaMax: noise.sigmaMax }, ...(noise.sigmaData !== null ? { sigmaData: noise.sigmaData } : {}) } : {});

/** The pre-trained online encoder store of the run (null for 'scratch'); the caller disposes it. */
export function loadPretrained(ctx: RunContext): ParameterStore | null {
  if (!ctx.config.pretrain) return null;
  const ck = latestCheckpoint(ctx.dir, 'pretrain');
  if (!ck || ck.sidecar.step < ctx.config.pretrain.steps) {
    throw epgError('config', `fine-tuning needs the finished pre-training of ${ctx.dir} (${ck ? `checkpoint at step ${ck.sidecar.step}/${ctx.config.pretrain.steps}` : 'none yet'})`, 'run epg-train pretrain (or all) with this --run first');
  }
  const { online, target } = buildPretrainStores(ctx.vit, ctx.config.seed);
  target.dispose();
  // A MoCo v3 predictor lives in the checkpoint's model section but is not part of the encoder.
  const r = restoreStore(online, ck, 'model', { allowUnknown: (n) => !isEncoderParam(n) });
  if (E.isLeft(r)) {
    online.dispose();
    throw r.left;
  }
  return online;
}

/** Encoder (pre-trained or random) + fresh decoder, seeded per objective. */
export function assembleNetwork(ctx: RunContext, objective: Objective, pretrained: ParameterStore | null): { store: ParameterStore; network: NetworkFn } {
  const r = assembleFinetune({ cfg: ctx.vit, rng: RandomStream.derive(ctx.config.seed, 0, `${objective}-init`), ...(pretrained ? { pretrained } : {}) });
  return orThrow(r);
}

/** The config's distance, or a 'cm-distance' code variant's (given c = huberC) when the run has one. */
function distanceOf(c: NonNullable<RunConfig['consistency']>, ctx: RunContext): DistanceOptions {
  const custom = ctx.plugins?.byKind['cm-distance'];
  const record = ctx.plugins?.records.find((r) => r.kind === 'cm-distance');
  if (custom) return { kind: 'custom', c: c.huberC, name: record?.package ?? custom.name, fn: custom.distance };
  return { kind: c.distance === 'epg' ? 'ect' : c.distance, c: c.huberC };
}

export async function runFinetune(ctx: RunContext, objective: Objective): Promise<'done' | 'stopped'> {
  const { config, vit } = ctx;
  const section = objective === 'consistency' ? config.consistency : config.diffusion;
  if (!section) {
    ctx.log(`${objective}: none in this config`);
    return 'done';
  }
  const stage: StageName = objective;
  const space = finetuneSpace(vit, config.noise);
  const pretrained = loadPretrained(ctx);
  const { store, network } = assembleNetwork(ctx, objective, pretrained);
  const disposers: Array<() => void> = [() => store.dispose()];
  // The evaluation EMA starts as a copy of the assembled network and follows it after every step.
  const emaDecay = section.ema;
  const ema = emaDecay !== null ? store.clone() : null;
  if (ema) disposers.push(() => ema.dispose());
  const stores: Record<string, ParameterStore> = ema ? { model: store, ema } : { model: store };
  // Grids of the current weights during training (config.eval.gridEvery): the sampler of the final
  // evaluation (one-step CM, Heun DM) on the evaluation latents, in eval mode, then back to training.
  const snapshot = async (done: number): Promise<void> => {
    const n = config.eval.gridSize;
    store.eval();
    try {
      const pixels = sampleNetwork(ctx, objective, network, space, { count: n, steps: objective === 'consistency' ? 1 : config.eval.heunSteps, seed: config.seed });
      const path = join(ctx.dir, 'samples', 'progress', `${objective}-step${String(done).padStart(String(section.steps).length, '0')}.png`);
      mkdirSync(dirname(path), { recursive: true });
      orThrow(await writePngGrid(path, pixels, n, vit.imageSize, vit.imageSize, vit.channels)());
    } finally {
      store.train();
    }
  };
  // What both objectives' stages share; each adds its batch preparation, optimiser and step.
  const shared = { stage, steps: section.steps, batch: section.batch, images: trainImages(config), stores, snapshot };
  const followEma = () => {
    if (ema) emaUpdate(ema, store, emaDecay!);
  };
  try {
    if (objective === 'consistency') {
      const c = config.consistency!;
      const run = cmShortRun(c.steps);
      const optimizer = new AdamW(store, {
        ...EPG_CM_OPTIMIZER,
        lr: cmLearningRate(c.lr, run),
        groups: finetuneParamGroups(store, vit, { weightDecay: EPG_CM_OPTIMIZER.weightDecay }),
      });
      disposers.push(() => optimizer.dispose());
      let auxiliary: AuxiliaryLossOptions | undefined;
      if (pretrained && c.auxWeight > 0) {
        const frozen = freezeEncoder(pretrained, vit);
        disposers.push(() => frozen.store.dispose());
        auxiliary = { encoder: encoderAt(frozen.encoder, space), weight: c.auxWeight, tau: 0.1, frozenStore: frozen.store };
      }
      const denoiser = cmDenoiser(network, space);
      const cmConfig = { ect: { ...EPG_CM_ECT, stageSteps: run.stageSteps }, distance: distanceOf(c, ctx) };
      return await runStage(ctx, {
        ...shared,
        prepare: plainPrepare('minus-one-one', { numClasses: vit.numClasses }),
        optimizer,
        step: (k, batch) =>
          withTensors(
            () => plainToTensors(batch),
            (t) => {
              const lr = optimizer.currentLr();
              const r = consistencyTrainStep({
                store, optimizer, denoiser, x0: t.x, rs: RandomStream.derive(config.seed, k, 'consistency'), space, config: cmConfig,
                ...(auxiliary ? { auxiliary } : {}),
                ...(c.clipNorm !== null ? { clipNorm: c.clipNorm } : {}),
              });
              followEma();
              return { loss: r.loss, terms: r.terms, skipped: r.skipped, lr };
            },
          ),
      });
    }
    const d = config.diffusion!;
    const run = dmShortRun(d.steps);
    const { beta1, beta2, weightDecay } = EPG_DM_OPTIMIZER;
    const optimizer = new AdamW(store, { beta1, beta2, weightDecay, lr: dmLearningRate(d.lr, run), groups: finetuneParamGroups(store, vit, { weightDecay }) });
    disposers.push(() => optimizer.dispose());
    return await runStage(ctx, {
      ...shared,
      prepare: plainPrepare('minus-one-one', { numClasses: vit.numClasses, labelDropout: d.labelDropout }),
      optimizer,
      step: (k, batch) =>
        withTensors(
          () => plainToTensors(batch),
          (t) => {
            const lr = optimizer.currentLr();
            const clip = d.clipNorm !== null && dmClipActive(k, run) ? { clipNorm: d.clipNorm } : {};
            const r = dmTrainStep({ store, optimizer, network, space, x0: t.x, labels: t.labels, rs: RandomStream.derive(config.seed, k, 'diffusion'), config: d.loss === 'edm' ? EDM_CONFIG : EPG_DM_CONFIG, ...clip });
            followEma();
            return { loss: r.loss, terms: r.terms ?? {}, skipped: r.skipped, lr };
          },
        ),
    });
  } finally {
    for (const f of disposers.reverse()) f();
    pretrained?.dispose();
  }
}
