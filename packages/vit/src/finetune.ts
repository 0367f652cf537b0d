/**
 * Fine-tuning assembly and optimiser groups (docs/consistency.md, "Assembly" and "Optimiser groups"):
 *
 *  - `assembleFinetune`: a pre-training store or checkpoint (or nothing, for the scratch ablation) →
 *    the fine-tuning network. The encoder is loaded by name, the projector and its BatchNorm buffers are
 *    dropped, the decoder is fresh with its zero-inits [EPG:gen_train.py, non-strict load].
 *  - `freezeEncoder`: the frozen W_φ of the CM auxiliary loss: an independent copy in eval mode.
 *  - `layerId` / `finetuneParamGroups`: layer-wise LR decay [rRCM:rrcm/utils.py `param_groups_lrd`;
 *    EPG `encoder_lrd`] and the weight-decay groups (none on pos_embed and cls_token, decay on
 *    everything else including biases and norms, as EPG's fine-tuning).
 */
import * as E from 'fp-ts/Either';
import {
  CheckpointError,
  ParameterStore,
  restoreStore,
  type LoadedCheckpoint,
  type ParamGroup,
  type RandomStream,
} from '@epg/tensor';
import { validateConfig, type ViTConfig } from './config';
import type { EncoderFn, NetworkFn } from '@epg/contracts';
import { buildFinetuneNetwork, isEncoderParam, makeEncoderFn } from './model';

/** 'encoder': the whole decoder shares the top id (EPG's default mode); 'all': decoder blocks get ids too. */
export type LayerDecayMode = 'encoder' | 'all';

/** The highest layer id: L + 1 ('encoder') or L + L_dec + 1 ('all'). */
export function topLayerId(cfg: ViTConfig, mode: LayerDecayMode = 'encoder'): number {
  return cfg.encoder.depth + (mode === 'all' ? (cfg.decoder?.depth ?? 0) : 0) + 1;
}

/**
 * Layer id of a parameter name: cls_token, pos_embed, patch_embed → 0; blocks.i → i + 1; in 'all' mode
 * decoder_blocks.j → L + j + 1; everything else (final norm, class embedding, bridge, output head, and in
 * 'encoder' mode the whole decoder) → the top id.
 */
export function layerId(name: string, cfg: ViTConfig, mode: LayerDecayMode = 'encoder'): number {
  if (/^(cls_token|pos_embed|patch_embed|time_embed)(\.|$)/.test(name)) return 0;
  const enc = /^blocks\.(\d+)\./.exec(name);
  if (enc) return Number(enc[1]) + 1;
  if (mode === 'all') {
    const dec = /^decoder_blocks\.(\d+)\./.exec(name);
    if (dec) return cfg.encoder.depth + Number(dec[1]) + 1;
  }
  return topLayerId(cfg, mode);
}

/** True for the parameters EPG's fine-tuning exempts from weight decay. */
export function isNoDecayParam(name: string): boolean {
  return name === 'pos_embed' || name === 'cls_token';
}

export interface FinetuneGroupOptions {
  /** Weight decay of the decayed groups (EPG CM: 0.03, DM: 0.01). */
  readonly weightDecay: number;
  /** LR decay per layer (rRCM 0.65–0.85); undefined or 1 = off, as EPG's released configs. */
  readonly layerDecay?: number;
  readonly mode?: LayerDecayMode;
}

/**
 * AdamW groups for a fine-tuning store: one per (layer id, decay or not), LR multiplier
 * layerDecay^(top − id), weight decay `weightDecay` on everything except pos_embed and cls_token.
 */
export function finetuneParamGroups(store: ParameterStore, cfg: ViTConfig, opts: FinetuneGroupOptions): ParamGroup[] {
  const decay = opts.layerDecay ?? 1;
  if (!(decay > 0 && decay <= 1)) throw new RangeError(`layerDecay passed to finetuneParamGroups must be in (0, 1], got ${decay}`);
  if (!(opts.weightDecay >= 0 && Number.isFinite(opts.weightDecay))) {
    throw new RangeError(`weightDecay passed to finetuneParamGroups must be a finite number >= 0, got ${opts.weightDecay}`);
  }
  const mode = opts.mode ?? 'encoder';
  const top = topLayerId(cfg, mode);
  const rel = (full: string) => full.slice(store.prefix.length);
  const groups: ParamGroup[] = [];
  for (let id = 0; id <= top; id++) {
    for (const noDecay of [false, true]) {
      groups.push({
        name: `layer_${id}${noDecay ? '.no_decay' : ''}`,
        select: (e) => layerId(rel(e.name), cfg, mode) === id && isNoDecayParam(rel(e.name)) === noDecay,
        lrMultiplier: decay ** (top - id),
        weightDecay: noDecay ? 0 : opts.weightDecay,
      });
    }
  }
  return groups;
}

export interface AssembleOptions {
  /** The fine-tuning config (needs a decoder). */
  readonly cfg: ViTConfig;
  /** Stream for the fresh weights (decoder, and the encoder when starting from scratch). */
  readonly rng: RandomStream;
  /** Decoder dropout stream (needed when cfg.decoderDropout > 0 in training mode). */
  readonly dropoutRng?: RandomStream;
  /**
   * Where the encoder comes from: a pre-training store (names of buildPretrainModel), a checkpoint read
   * with readCheckpoint (section `section`, default 'model'), or undefined for a random encoder.
   */
  readonly pretrained?: ParameterStore | LoadedCheckpoint;
  readonly section?: string;
}

export interface Assembled {
  readonly store: ParameterStore;
  readonly network: NetworkFn;
  /** Names loaded from the pre-training weights (empty from scratch). */
  readonly loaded: readonly string[];
}

function isStore(p: ParameterStore | LoadedCheckpoint): p is ParameterStore {
  return p instanceof ParameterStore;
}

/**
 * Builds the fine-tuning network with EPG's fine-tuning init and, when `pretrained` is given, loads every
 * encoder parameter (patch embedding, [CLS], pos-embed, blocks, final LN) by name. The projector and BN
 * buffers are ignored; a missing or mis-shaped encoder tensor is an error (Left), never a silent skip.
 */
export function assembleFinetune(opts: AssembleOptions): E.Either<CheckpointError, Assembled> {
  const cfg = validateConfig(opts.cfg);
  const store = ParameterStore.create();
  const network = buildFinetuneNetwork(store, cfg, { rng: opts.rng });
  const encoderNames = store.names().filter(isEncoderParam);
  const src = opts.pretrained;
  if (!src) return E.right({ store, network, loaded: [] });
  if (isStore(src)) {
    const missing = encoderNames.find((n) => !src.has(n));
    if (missing) {
      store.dispose();
      return E.left(new CheckpointError('mismatch', `assembleFinetune: the pre-training store has no '${src.prefix}${missing}' (another preset?)`));
    }
    for (const n of encoderNames) {
      const from = src.get(n);
      const to = store.get(n);
      if (from.shape.join() !== to.shape.join()) {
        store.dispose();
        return E.left(new CheckpointError('mismatch', `assembleFinetune: '${n}' has shape [${from.shape}] in the pre-training store but [${to.shape}] here (another preset or resolution?)`));
      }
      to.assign(from);
    }
    return E.right({ store, network, loaded: encoderNames });
  }
  const restored = restoreStore(store, src, opts.section ?? 'model', {
    allowUnknown: (n) => !isEncoderParam(n),
    allowMissing: (n) => !isEncoderParam(n),
  });
  if (E.isLeft(restored)) {
    store.dispose();
    return restored;
  }
  return E.right({ store, network, loaded: encoderNames });
}

/**
 * The frozen W_φ of the CM auxiliary loss: an independent copy of the pre-training store (encoder and
 * projector), in eval mode (BatchNorm running statistics), every parameter marked not trainable. The
 * caller disposes `store`.
 */
export function freezeEncoder(pretrained: ParameterStore, cfg: ViTConfig): { store: ParameterStore; encoder: EncoderFn } {
  const store = pretrained.clone();
  store.eval();
  store.setTrainable(false);
  return { store, encoder: makeEncoderFn(store, cfg) };
}
