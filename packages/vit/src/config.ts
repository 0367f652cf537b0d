/**
 * Model configurations and named presets (docs/method.md §2.7), their validation, and shape inference.
 * Pure numbers: nothing here allocates a tensor, so the biggest presets can be described on any machine.
 */

export interface TransformerSize {
  readonly depth: number;
  readonly width: number;
  readonly heads: number;
}

export interface ProjectorSize {
  /** Hidden width h of the 3-layer projector (Linear → BN → ReLU → Linear → BN → ReLU → Linear). */
  readonly hidden: number;
  /** Output width o. */
  readonly out: number;
}

export interface ViTConfig {
  readonly name: string;
  /** Square input resolution H = W in pixels. */
  readonly imageSize: number;
  /** Image channels C (3 for RGB, 1 for MNIST). */
  readonly channels: number;
  /** Patch size p (kernel = stride of the patch embedding). */
  readonly patchSize: number;
  readonly encoder: TransformerSize;
  /** Fine-tuning decoder; absent for encoder-only models (rRCM). */
  readonly decoder?: TransformerSize;
  /** Pre-training projection head; absent when the model is only ever fine-tuned. */
  readonly projector?: ProjectorSize;
  /** Classes of the class embedding (table has numClasses + 1 rows, the last is the null label); 0 = unconditional. */
  readonly numClasses: number;
  /** MLP hidden width = mlpRatio · width (4 in every EPG/rRCM model). */
  readonly mlpRatio: number;
  /** Dropout rate on the decoder attention's output projection (0 = off). */
  readonly decoderDropout: number;
}

/** Learnable [CLS] tokens (EPG `tokens`, 1 everywhere) plus the time token. */
export const EXTRA_TOKENS = 2;

/**
 * Patch size under EPG's fixed-token-count rule: the grid stays `grid`×`grid` (16×16 = 256 tokens at
 * 256/16 and 512/32) whatever the resolution [docs/method.md §2.1].
 */
export function patchSizeFor(resolution: number, grid = 16): number {
  if (!Number.isInteger(resolution) || resolution <= 0 || resolution % grid !== 0) {
    throw new RangeError(`patchSizeFor: resolution ${resolution} is not a positive multiple of the grid ${grid}; pick a resolution divisible by ${grid}`);
  }
  return resolution / grid;
}

const ENC_L = { depth: 16, width: 1024, heads: 16 };
const ENC_B = { depth: 12, width: 768, heads: 12 };
const EPG_PROJ = { hidden: 4096, out: 256 };

function preset(p: Partial<ViTConfig> & Pick<ViTConfig, 'name' | 'imageSize' | 'patchSize' | 'encoder'>): ViTConfig {
  return { channels: 3, numClasses: 1000, mlpRatio: 4, decoderDropout: 0, ...p };
}

/** Every row of docs/method.md §2.7, plus small presets for a CPU at 28–32 px and micro ones for unit tests. */
export const PRESETS = {
  'epg-l16': preset({ name: 'epg-l16', imageSize: 256, patchSize: 16, encoder: ENC_L, decoder: ENC_L, projector: EPG_PROJ }),
  'epg-l32': preset({ name: 'epg-l32', imageSize: 512, patchSize: 32, encoder: ENC_L, decoder: ENC_L, projector: EPG_PROJ }),
  'epg-xl16': preset({ name: 'epg-xl16', imageSize: 256, patchSize: 16, encoder: ENC_B, decoder: { depth: 12, width: 1584, heads: 22 }, projector: EPG_PROJ }),
  'epg-xxl16': preset({ name: 'epg-xxl16', imageSize: 256, patchSize: 16, encoder: ENC_B, decoder: { depth: 12, width: 1920, heads: 16 }, projector: EPG_PROJ }),
  'epg-g16': preset({ name: 'epg-g16', imageSize: 256, patchSize: 16, encoder: ENC_B, decoder: { depth: 12, width: 2688, heads: 21 }, projector: EPG_PROJ }),
  // Ablations at 224/16; the decoder is inferred from the equal-width rule.
  'epg-b16': preset({ name: 'epg-b16', imageSize: 224, patchSize: 16, encoder: ENC_B, decoder: ENC_B, projector: EPG_PROJ }),
  'rrcm-b': preset({ name: 'rrcm-b', imageSize: 224, patchSize: 16, encoder: ENC_B, projector: EPG_PROJ, numClasses: 0 }),
  'rrcm-s': preset({ name: 'rrcm-s', imageSize: 224, patchSize: 16, encoder: { depth: 6, width: 512, heads: 8 }, projector: { hidden: 2048, out: 256 }, numClasses: 0 }),
  // CPU presets: the "tiny ViT unit" of docs/toolchain.md §13 (32×32×3, patch 4, 66 tokens, width 192, depth 6).
  'cpu-tiny': preset({
    name: 'cpu-tiny', imageSize: 32, patchSize: 4, numClasses: 10,
    encoder: { depth: 6, width: 192, heads: 3 }, decoder: { depth: 6, width: 192, heads: 3 }, projector: { hidden: 1024, out: 256 },
  }),
  'cpu-tiny-gray32': preset({
    name: 'cpu-tiny-gray32', imageSize: 32, channels: 1, patchSize: 4, numClasses: 10,
    encoder: { depth: 6, width: 192, heads: 3 }, decoder: { depth: 6, width: 192, heads: 3 }, projector: { hidden: 1024, out: 256 },
  }),
  // MNIST / Fashion-MNIST at their native 28×28×1: 7×7 = 49 patches.
  'cpu-tiny-mnist': preset({
    name: 'cpu-tiny-mnist', imageSize: 28, channels: 1, patchSize: 4, numClasses: 10,
    encoder: { depth: 6, width: 192, heads: 3 }, decoder: { depth: 6, width: 192, heads: 3 }, projector: { hidden: 1024, out: 256 },
  }),
  'cpu-small': preset({
    name: 'cpu-small', imageSize: 32, patchSize: 4, numClasses: 10,
    encoder: { depth: 8, width: 256, heads: 4 }, decoder: { depth: 8, width: 256, heads: 4 }, projector: { hidden: 1024, out: 256 },
  }),
  // Unit tests: 8×8, patch 4 → 4 patches, decoder wider than the encoder (exercises the bridge).
  'test-micro': preset({
    name: 'test-micro', imageSize: 8, patchSize: 4, numClasses: 3,
    encoder: { depth: 2, width: 16, heads: 2 }, decoder: { depth: 2, width: 24, heads: 3 }, projector: { hidden: 32, out: 8 },
  }),
  'test-micro-gray': preset({
    name: 'test-micro-gray', imageSize: 8, channels: 1, patchSize: 4, numClasses: 3,
    encoder: { depth: 2, width: 16, heads: 2 }, decoder: { depth: 3, width: 16, heads: 2 }, projector: { hidden: 32, out: 8 },
  }),
} as const satisfies Record<string, ViTConfig>;

export type PresetName = keyof typeof PRESETS;

export function presetNames(): PresetName[] {
  return Object.keys(PRESETS) as PresetName[];
}

/** The named preset, optionally with fields overridden; throws naming the known presets. */
export function getPreset(name: string, overrides: Partial<ViTConfig> = {}): ViTConfig {
  const base = (PRESETS as Record<string, ViTConfig>)[name];
  if (!base) throw new Error(`unknown ViT preset '${name}': use one of ${presetNames().join(', ')}`);
  return validateConfig({ ...base, ...overrides });
}

function checkSize(what: string, s: TransformerSize): void {
  for (const k of ['depth', 'width', 'heads'] as const) {
    if (!Number.isInteger(s[k]) || s[k] <= 0) throw new RangeError(`${what}.${k} must be a positive integer, got ${s[k]}`);
  }
  if (s.width % s.heads !== 0) throw new RangeError(`${what}.width ${s.width} is not divisible by heads ${s.heads}: choose heads dividing the width`);
}

/** Throws a one-line error naming the bad field; returns the config unchanged when valid. */
export function validateConfig(cfg: ViTConfig): ViTConfig {
  const where = `ViT config '${cfg.name}'`;
  if (!Number.isInteger(cfg.imageSize) || cfg.imageSize <= 0) throw new RangeError(`${where}: imageSize must be a positive integer, got ${cfg.imageSize}`);
  if (!Number.isInteger(cfg.patchSize) || cfg.patchSize <= 0 || cfg.imageSize % cfg.patchSize !== 0) {
    throw new RangeError(`${where}: imageSize ${cfg.imageSize} is not divisible by patchSize ${cfg.patchSize}`);
  }
  if (!Number.isInteger(cfg.channels) || cfg.channels <= 0) throw new RangeError(`${where}: channels must be a positive integer, got ${cfg.channels}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 0) throw new RangeError(`${where}: numClasses must be an integer >= 0, got ${cfg.numClasses}`);
  if (!(cfg.mlpRatio > 0) || !Number.isInteger(cfg.mlpRatio * cfg.encoder.width)) throw new RangeError(`${where}: mlpRatio ${cfg.mlpRatio} must give an integer MLP width`);
  if (!(cfg.decoderDropout >= 0 && cfg.decoderDropout < 1)) throw new RangeError(`${where}: decoderDropout must be in [0, 1), got ${cfg.decoderDropout}`);
  checkSize(`${where}: encoder`, cfg.encoder);
  if (cfg.encoder.width % 2 !== 0) throw new RangeError(`${where}: encoder.width must be even for the sinusoidal time embedding, got ${cfg.encoder.width}`);
  if (cfg.decoder) checkSize(`${where}: decoder`, cfg.decoder);
  if (cfg.projector) {
    for (const k of ['hidden', 'out'] as const) {
      if (!Number.isInteger(cfg.projector[k]) || cfg.projector[k] <= 0) throw new RangeError(`${where}: projector.${k} must be a positive integer`);
    }
  }
  return cfg;
}

/** Grid side H/p, patches L = (H/p)², tokens T = 2 + L, patch vector length p²·C. */
export function tokenLayout(cfg: ViTConfig): { grid: number; patches: number; tokens: number; patchDim: number } {
  const grid = cfg.imageSize / cfg.patchSize;
  return { grid, patches: grid * grid, tokens: EXTRA_TOKENS + grid * grid, patchDim: cfg.patchSize * cfg.patchSize * cfg.channels };
}

export interface InferredShapes {
  /** Network input, NHWC. */
  readonly input: readonly number[];
  /** Encoder token sequence [B, T, D]. */
  readonly encoderTokens: readonly number[];
  /** LayerNorm'd [CLS] feature z [B, D]. */
  readonly cls: readonly number[];
  /** Projector output [B, o], when the config has a projector. */
  readonly proj?: readonly number[];
  /** Decoder token sequence [B, T, d], when the config has a decoder. */
  readonly decoderTokens?: readonly number[];
  /** Fine-tuning network output (= input shape), when the config has a decoder. */
  readonly output?: readonly number[];
}

/** Shapes of every stage for a batch, by arithmetic only (no tensors). */
export function inferShapes(cfg: ViTConfig, batch: number): InferredShapes {
  validateConfig(cfg);
  const { tokens } = tokenLayout(cfg);
  const input = [batch, cfg.imageSize, cfg.imageSize, cfg.channels];
  return {
    input,
    encoderTokens: [batch, tokens, cfg.encoder.width],
    cls: [batch, cfg.encoder.width],
    ...(cfg.projector ? { proj: [batch, cfg.projector.out] } : {}),
    ...(cfg.decoder ? { decoderTokens: [batch, tokens, cfg.decoder.width], output: input } : {}),
  };
}
