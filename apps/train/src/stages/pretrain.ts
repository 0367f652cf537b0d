/**
 * Stage 1: EPG pre-training (docs/ssl.md) of the run's ViT encoder with an EMA target, over MNIST
 * view pairs. Checkpoint sections: `model` (online), `target` (EMA), optimiser.
 */
import { FASHION_PAIR, MNIST_PAIR, pairPrepare, pairToTensors } from '@epg/data';
import { noiseSpace } from '@epg/schedules';
import { Pretrainer, pretrainConfig } from '@epg/ssl';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { buildPretrainModel, makeEncoderFn, type ViTConfig } from '@epg/vit';
import type { RunConfig } from '../config';
import { encoderAt } from '../networks';
import { runStage, trainImages, withTensors, type RunContext } from './common';

/** The pre-training model of a run: the online store built from the seed, and its target clone. */
export function buildPretrainStores(vit: ViTConfig, seed: number): { online: ParameterStore; target: ParameterStore } {
  const online = ParameterStore.create();
  buildPretrainModel(online, vit, { rng: RandomStream.derive(seed, 0, 'vit-init') });
  return { online, target: online.clone() };
}

export async function runPretrain(ctx: RunContext): Promise<'done' | 'stopped'> {
  const pre = ctx.config.pretrain;
  if (!pre) {
    ctx.log('pretrain: none in this config (scratch)');
    return 'done';
  }
  const { vit, config } = ctx;
  const cfg = pretrainConfig(pre.variant, { totalSteps: pre.steps, ...(pre.lr !== null ? { lr: pre.lr } : {}) });
  const space = noiseSpace(vit.imageSize, { shift: cfg.shift });
  const { online, target } = buildPretrainStores(vit, config.seed);
  let pretrainer: Pretrainer | undefined;
  try {
    pretrainer = Pretrainer.create(
      cfg,
      { online: encoderAt(makeEncoderFn(online, vit), space), target: encoderAt(makeEncoderFn(target, vit), space), onlineStore: online, targetStore: target },
      {
        space,
        seed: config.seed,
        projectionDim: vit.projector?.out,
        // Code variants (docs/variants.md): the pair loss and the consistency term's τ schedule.
        ...(ctx.plugins?.byKind['pretrain-loss'] ? { loss: ctx.plugins.byKind['pretrain-loss'].loss } : {}),
        ...(ctx.plugins?.byKind['tau-schedule'] ? { temperature: ctx.plugins.byKind['tau-schedule'].tau } : {}),
      },
    );
    const p = pretrainer;
    return await runStage(ctx, {
      stage: 'pretrain',
      steps: pre.steps,
      batch: pre.batch,
      images: trainImages(config),
      prepare: pairPrepare(pairFor(config), { numClasses: vit.numClasses }),
      stores: { model: online, target },
      optimizer: p.optimizer,
      step: (_k, batch) =>
        withTensors(
          () => pairToTensors(batch),
          (t) => {
            const r = p.step({ x0: t.x0, view1: t.view1, view2: t.view2 });
            return { loss: r.loss, terms: r.terms, skipped: r.skipped, lr: r.lr };
          },
        ),
    });
  } finally {
    pretrainer?.dispose();
    online.dispose();
    target.dispose();
  }
}

export function pairFor(config: RunConfig) {
  return config.data.dataset === 'fashion-mnist' ? FASHION_PAIR : MNIST_PAIR;
}
