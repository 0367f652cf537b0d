/**
 * Named configs (presets) and named small diffs of them (variants), as data (docs/apps.md, "Presets
 * and variants"). A run is `preset + variants + --set edits`, validated once by `resolveConfig`.
 */
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';
import { applyPatch, decodeRunConfig, parseSet, setField, type ConfigPatch, type RunConfig } from './config';

const CHECKPOINT = { every: 100, keepLatest: 2, keepEvery: null };

/** The README's embedded default: the whole pipeline on MNIST, sized for a few CPU minutes per stage. */
const MNIST_QUICK: RunConfig = {
  preset: 'mnist-quick',
  variants: [],
  plugins: [],
  seed: 0,
  data: { dataset: 'mnist', path: null, limit: null },
  // cpu-micro-mnist (models.ts): 300 steps × 64 images per stage take minutes on two cores.
  model: { preset: 'cpu-micro-mnist', decoderDropout: 0 },
  pretrain: { variant: 'epg', steps: 300, batch: 64, lr: 1e-3 },
  diffusion: { steps: 300, batch: 64, lr: 1e-3, clipNorm: null, labelDropout: 0.1, loss: 'epg', ema: null },
  consistency: { steps: 300, batch: 64, lr: 1e-3, distance: 'epg', huberC: 0.06, auxWeight: 1, clipNorm: null, ema: null },
  eval: { fidSamples: 1000, heunSteps: 16, guidance: 1, gridSize: 64, gridEvery: 100 },
  checkpoint: CHECKPOINT,
  noise: null,
};

/**
 * The MNIST / Fashion-MNIST reproduction study's base (docs/results.md): mnist-quick's model with
 * every stage 2000 steps × 64 images, sized so that the grid (2 datasets × 2 seeds × 6 arms) fits
 * about 10 CPU-hours on 2 cores. FID from 2000 samples (every arm the same count; the estimate's
 * bias cancels in comparisons, not in absolute values).
 */
const MNIST_STUDY: RunConfig = {
  ...MNIST_QUICK,
  preset: 'mnist-study',
  pretrain: { ...MNIST_QUICK.pretrain!, steps: 2000 },
  diffusion: { ...MNIST_QUICK.diffusion!, steps: 2000 },
  consistency: { ...MNIST_QUICK.consistency!, steps: 2000 },
  eval: { fidSamples: 2000, heunSteps: 32, guidance: 1, gridSize: 64, gridEvery: 500 },
  checkpoint: { every: 250, keepLatest: 2, keepEvery: 1000 },
};

const FASHION_STUDY: RunConfig = { ...MNIST_STUDY, preset: 'fashion-study', data: { dataset: 'fashion-mnist', path: null, limit: null } };

/**
 * The paper's ImageNet-256 recipes (docs/method.md): EPG-XL/16 DM (pre-training 600k × 1024, DM 1M ×
 * 1024 at lr 1e-4, clip 0.5, label drop 0.1, Heun-32 with CFG) and EPG-L/16 CM (700k × 1024, lr 1e-4,
 * dropout 0.5, aux weight 1). They validate and resolve here; running them needs a GPU backend.
 */
const IMAGENET256_XL16_DM: RunConfig = {
  preset: 'imagenet256-xl16-dm',
  variants: [],
  plugins: [],
  seed: 0,
  data: { dataset: 'image-folder', path: 'data/imagenet256/train', limit: null },
  model: { preset: 'epg-xl16', decoderDropout: 0 },
  pretrain: { variant: 'epg', steps: 600_000, batch: 1024, lr: null },
  diffusion: { steps: 1_000_000, batch: 1024, lr: 1e-4, clipNorm: 0.5, labelDropout: 0.1, loss: 'epg', ema: 0.9999 },
  consistency: null,
  eval: { fidSamples: 50_000, heunSteps: 32, guidance: 2.5, gridSize: 64, gridEvery: 10_000 },
  checkpoint: { every: 5000, keepLatest: 2, keepEvery: 100_000 },
  noise: null,
};

const IMAGENET256_L16_CM: RunConfig = {
  ...IMAGENET256_XL16_DM,
  preset: 'imagenet256-l16-cm',
  model: { preset: 'epg-l16', decoderDropout: 0.5 },
  diffusion: null,
  consistency: { steps: 700_000, batch: 1024, lr: 1e-4, distance: 'epg', huberC: 0.06, auxWeight: 1, clipNorm: null, ema: 0.9999 },
  eval: { fidSamples: 50_000, heunSteps: 32, guidance: 1, gridSize: 64, gridEvery: 10_000 },
};

export const PRESETS: Readonly<Record<string, RunConfig>> = {
  'mnist-quick': MNIST_QUICK,
  'mnist-study': MNIST_STUDY,
  'fashion-study': FASHION_STUDY,
  'imagenet256-xl16-dm': IMAGENET256_XL16_DM,
  'imagenet256-l16-cm': IMAGENET256_L16_CM,
};

/** Ablation arms as small diffs (the paper's Table "pre-training scheme" rows, and the aux-loss switch). */
export const VARIANTS: Readonly<Record<string, { readonly description: string; readonly patch: ConfigPatch }>> = {
  scratch: { description: 'no pre-training: fine-tune from a random encoder', patch: { pretrain: null } },
  rrcm: { description: "rRCM's pre-training (sigmoid EMA, τ 0.2, 20→80, no shift)", patch: { pretrain: { variant: 'rrcm' } } },
  mocov3: { description: 'MoCo v3 pre-training (predictor, 2τ, momentum target; no trajectory term)', patch: { pretrain: { variant: 'moco-v3' } } },
  'constant-tau': { description: "EPG with the released code's constant τ = 0.1", patch: { pretrain: { variant: 'epg-code' } } },
  'contrastive-only': { description: 'EPG without the representation-consistency term', patch: { pretrain: { variant: 'contrastive-only' } } },
  'consistency-only': { description: 'EPG without the augmentation-contrastive term', patch: { pretrain: { variant: 'consistency-only' } } },
  'no-aux-loss': { description: 'CM fine-tuning without the frozen-encoder auxiliary loss', patch: { consistency: { auxWeight: 0 } } },
};

export interface ResolveRequest {
  /** Preset name, or a parsed JSON config (from --config FILE). */
  readonly base: string | unknown;
  readonly variants?: readonly string[];
  /** Code-variant packages (--plugin), appended to the config's `plugins`. */
  readonly plugins?: readonly string[];
  /** `key=value` strings, applied in order after the variants. */
  readonly sets?: readonly string[];
}

/** preset (or file) → variants → --set edits → one validated RunConfig; every problem is a Left. */
export function resolveConfig(req: ResolveRequest): E.Either<EpgError, RunConfig> {
  let config: unknown;
  if (typeof req.base === 'string') {
    const preset = PRESETS[req.base];
    if (!preset) return E.left(epgError('config', `unknown preset '${req.base}'`, `use one of ${Object.keys(PRESETS).join(', ')}`));
    config = preset;
  } else {
    config = req.base;
  }
  const applied: string[] = [];
  for (const name of req.variants ?? []) {
    const v = VARIANTS[name];
    if (!v) return E.left(epgError('config', `unknown variant '${name}'`, `use one of ${Object.keys(VARIANTS).join(', ')} (or a variant package, see docs/variants.md)`));
    if (name !== 'scratch' && (config as RunConfig).pretrain === null && 'pretrain' in v.patch) {
      return E.left(epgError('config', `variant '${name}' changes pre-training, but this config has none`, "drop 'scratch' or this variant"));
    }
    config = applyPatch(config as RunConfig, v.patch);
    applied.push(name);
  }
  if (applied.length > 0) {
    const prev = (config as { variants?: unknown }).variants;
    config = { ...(config as object), variants: [...(Array.isArray(prev) ? prev : []), ...applied] };
  }
  if ((req.plugins ?? []).length > 0) {
    const prev = (config as { plugins?: unknown }).plugins;
    config = { ...(config as object), plugins: [...(Array.isArray(prev) ? prev : []), ...req.plugins!] };
  }
  for (const s of req.sets ?? []) {
    const parsed = parseSet(s);
    if (E.isLeft(parsed)) return parsed;
    const next = setField(config, parsed.right.path, parsed.right.value);
    if (E.isLeft(next)) return next;
    config = next.right;
  }
  return decodeRunConfig(config);
}
