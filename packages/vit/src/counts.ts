/**
 * Analytic parameter and FLOP counts from a config alone (no tensors), so the 1.4B-parameter presets
 * can be sized anywhere. The formulas follow the modules of docs/method.md §2.1–2.6 one by one; the unit
 * tests check them against the allocated parameter store on the small presets.
 */
import { tokenLayout, validateConfig, type ViTConfig } from './config';

/** Parameters of one pre-LN block of width w with MLP ratio r: 2 LNs, qkv (no bias), proj, fc1, fc2. */
export function blockParams(w: number, r: number): number {
  const hidden = r * w;
  return 2 * w + 3 * w * w + (w * w + w) + 2 * w + (w * hidden + hidden) + (hidden * w + w);
}

export interface ParamCounts {
  /** Patch embedding (p²C·D + D), [CLS], position embedding, blocks, final LayerNorm. */
  readonly encoder: number;
  /** Class embedding table ((K+1)·D), 0 when unconditional. */
  readonly classEmbed: number;
  /** Projector (pre-training only), 0 when absent. */
  readonly projector: number;
  /** Bridge, decoder blocks (with skip Linear + LN and adaLN), output LN and Linear; 0 when absent. */
  readonly decoder: number;
  /** Pre-training model: encoder + projector (RCMViT has no class embedding). */
  readonly pretrain: number;
  /** Fine-tuning network (EPG DMViT): encoder + class embedding + decoder; the README's "Params". */
  readonly finetune: number;
}

/** Parameter counts per part [docs/method.md §2.1–2.6; EPG:rcm/vit.py@bf76f78]. */
export function paramCounts(cfg: ViTConfig): ParamCounts {
  validateConfig(cfg);
  const { tokens, patchDim } = tokenLayout(cfg);
  const D = cfg.encoder.width;
  const r = cfg.mlpRatio;
  const encoder = patchDim * D + D + D + tokens * D + cfg.encoder.depth * blockParams(D, r) + 2 * D;
  const classEmbed = cfg.numClasses > 0 ? (cfg.numClasses + 1) * D : 0;
  const pr = cfg.projector;
  const projector = pr ? D * pr.hidden + 2 * pr.hidden + pr.hidden * pr.hidden + 2 * pr.hidden + pr.hidden * pr.out : 0;
  let decoder = 0;
  if (cfg.decoder) {
    const d = cfg.decoder.width;
    const bridge = d !== D ? D * d + d : 0;
    const perBlock = blockParams(d, r) + ((D + d) * d + d) + 2 * d + (D * 6 * d + 6 * d);
    decoder = bridge + cfg.decoder.depth * perBlock + 2 * d + (d * patchDim + patchDim);
  }
  return {
    encoder,
    classEmbed,
    projector,
    decoder,
    pretrain: encoder + projector,
    finetune: cfg.decoder ? encoder + classEmbed + decoder : 0,
  };
}

export interface FlopCounts {
  /** Multiply-accumulates of one forward pass of one image through the encoder (matmuls only). */
  readonly encoderMacs: number;
  readonly projectorMacs: number;
  readonly decoderMacs: number;
  /** Pre-training forward: encoder + projector. */
  readonly pretrainMacs: number;
  /** Fine-tuning forward: encoder + decoder. */
  readonly finetuneMacs: number;
}

/**
 * Forward multiply-accumulates per image, counting every matrix product (Linear layers, patch
 * embedding, QKᵀ and AV) and ignoring elementwise work. FLOPs = 2·MACs; a training step
 * (forward + backward) costs ≈ 3× the forward.
 */
export function flopCounts(cfg: ViTConfig): FlopCounts {
  validateConfig(cfg);
  const { tokens: T, patches: L, patchDim } = tokenLayout(cfg);
  const D = cfg.encoder.width;
  const r = cfg.mlpRatio;
  const blockMacs = (w: number) => T * (4 + 2 * r) * w * w + 2 * T * T * w;
  const encoderMacs = L * patchDim * D + cfg.encoder.depth * blockMacs(D);
  const pr = cfg.projector;
  const projectorMacs = pr ? D * pr.hidden + pr.hidden * pr.hidden + pr.hidden * pr.out : 0;
  let decoderMacs = 0;
  if (cfg.decoder) {
    const d = cfg.decoder.width;
    const skipped = Math.min(cfg.decoder.depth, cfg.encoder.depth);
    decoderMacs =
      (d !== D ? T * D * d : 0) +
      cfg.decoder.depth * (blockMacs(d) + D * 6 * d) +
      skipped * T * (D + d) * d +
      L * d * patchDim;
  }
  return {
    encoderMacs,
    projectorMacs,
    decoderMacs,
    pretrainMacs: encoderMacs + projectorMacs,
    finetuneMacs: cfg.decoder ? encoderMacs + decoderMacs : 0,
  };
}
