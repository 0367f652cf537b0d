/**
 * The EPG / rRCM ViT as parameters in a ParameterStore plus pure forward functions over any store
 * holding those names (an online model, its EMA clone, a frozen copy).
 *
 *  - Pre-training model [rRCM:rrcm/vit.py `rRCMViT`][EPG:rcm/vit.py `RCMViT`]: encoder + projector,
 *    an `EncoderFn` of @epg/contracts: (x, τ, labels?) → {cls: z, proj}.
 *  - Fine-tuning network [EPG:rcm/vit.py@bf76f78 `DMViT`]: encoder + decoder with long skips and
 *    adaLN-Zero, a `NetworkFn` of @epg/contracts: (x, τ, labels?, call?) → image.
 *
 * Parameter names are the PyTorch state-dict names (see `namemap.ts` for the layouts). Images are
 * NHWC float32. The time values τ (e.g. 250·ln σ) arrive on the host as a Float64Array and the
 * sinusoidal embedding is computed there in float64, then uploaded: nothing reads a tensor back
 * (docs/method.md, "σ on the host"). Shape letters: B batch, T tokens, L patches, D encoder width,
 * d decoder width, P = p²·C patch vector.
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError, type ParameterStore, type RandomStream } from '@epg/tensor';
import type { EncoderFn, NetworkCall, NetworkFn, TimeValues } from '@epg/contracts';
import { tokenLayout, validateConfig, type ViTConfig } from './config';
import {
  attention,
  batchNorm1d,
  embed,
  layerNorm,
  linear,
  mlp,
  patchify,
  silu,
  timestepEmbedding,
  unpatchify,
  layerNormModulate,
  gatedResidual,
} from './layers';
import {
  normalTensor,
  qkvMocoUniform,
  torchDefaultUniform,
  truncatedNormalTensor,
  uniformSym,
  xavierUniform,
} from './init';

/** 'moco': pre-training init (MoCo v3 / rRCM). 'finetune': EPG DMViT.init_weights. */
export type InitScheme = 'moco' | 'finetune';

// ---------------------------------------------------------------------------------------------
// Parameter creation

class Builder {
  constructor(
    private readonly store: ParameterStore,
    private readonly rs: RandomStream,
  ) {}

  private stream(name: string): RandomStream {
    return this.rs.child(name);
  }

  /** Linear stored (in, out): Xavier-uniform weight, zero bias (both init schemes) or all zeros. */
  linear(name: string, fanIn: number, fanOut: number, opts: { bias?: boolean; zero?: boolean } = {}): void {
    const w = opts.zero ? tf.zeros([fanIn, fanOut]) : xavierUniform(this.stream(`${name}.weight`), fanIn, fanOut);
    this.store.add(`${name}.weight`, w);
    if (opts.bias ?? true) this.store.add(`${name}.bias`, tf.zeros([fanOut]));
  }

  norm(name: string, width: number): void {
    this.store.add(`${name}.weight`, tf.ones([width]));
    this.store.add(`${name}.bias`, tf.zeros([width]));
  }

  batchNorm(name: string, width: number): void {
    this.norm(name, width);
    this.store.addBuffer(`${name}.running_mean`, tf.zeros([width]));
    this.store.addBuffer(`${name}.running_var`, tf.ones([width]));
  }

  raw(name: string, value: tf.Tensor, weightDecay?: boolean): void {
    this.store.add(name, value, weightDecay === undefined ? {} : { weightDecay });
  }

  rng(name: string): RandomStream {
    return this.stream(name);
  }
}

function addBlock(b: Builder, prefix: string, width: number, mlpRatio: number, init: InitScheme): void {
  const hidden = mlpRatio * width;
  b.norm(`${prefix}.norm1`, width);
  if (init === 'moco') b.raw(`${prefix}.attn.qkv.weight`, qkvMocoUniform(b.rng(`${prefix}.attn.qkv.weight`), width));
  else b.linear(`${prefix}.attn.qkv`, width, 3 * width, { bias: false });
  b.linear(`${prefix}.attn.proj`, width, width);
  b.norm(`${prefix}.norm2`, width);
  b.linear(`${prefix}.mlp.fc1`, width, hidden);
  b.linear(`${prefix}.mlp.fc2`, hidden, width);
}

/** Registers the encoder: patch embedding, [CLS], position embedding, blocks, final LayerNorm. */
function addEncoder(b: Builder, cfg: ViTConfig, init: InitScheme): void {
  const { tokens, patchDim } = tokenLayout(cfg);
  const D = cfg.encoder.width;
  const pw = b.rng('patch_embed.proj.weight');
  if (init === 'moco') {
    // Xavier bound of the conv seen as a (C·p²)→D map [rRCM moco_init_weights; it writes 3 for C].
    b.raw('patch_embed.proj.weight', uniformSym(pw, [patchDim, D], Math.sqrt(6 / (patchDim + D))));
    b.raw('patch_embed.proj.bias', tf.zeros([D]));
  } else {
    // DMViT.init_weights only touches nn.Linear: the conv keeps PyTorch's default init.
    b.raw('patch_embed.proj.weight', torchDefaultUniform(pw, [patchDim, D], patchDim));
    b.raw('patch_embed.proj.bias', torchDefaultUniform(b.rng('patch_embed.proj.bias'), [D], patchDim));
  }
  b.raw('cls_token', normalTensor(b.rng('cls_token'), [1, 1, D], 0, 1e-6), false);
  b.raw('pos_embed', truncatedNormalTensor(b.rng('pos_embed'), [1, tokens, D], 0.02), false);
  for (let i = 0; i < cfg.encoder.depth; i++) addBlock(b, `blocks.${i}`, D, cfg.mlpRatio, init);
  b.norm('norm', D);
}

/** Projector Linear → BN → ReLU → Linear → BN → ReLU → Linear, no biases (Sequential indices 0, 1, 3, 4, 6). */
function addProjector(b: Builder, cfg: ViTConfig): void {
  const pr = cfg.projector;
  if (!pr) throw new Error(`ViT config '${cfg.name}' has no projector: set config.projector = {hidden, out}`);
  const D = cfg.encoder.width;
  b.linear('projection_head.0', D, pr.hidden, { bias: false });
  b.batchNorm('projection_head.1', pr.hidden);
  b.linear('projection_head.3', pr.hidden, pr.hidden, { bias: false });
  b.batchNorm('projection_head.4', pr.hidden);
  b.linear('projection_head.6', pr.hidden, pr.out, { bias: false });
}

function addClassEmbed(b: Builder, cfg: ViTConfig): void {
  b.raw('class_embed.weight', normalTensor(b.rng('class_embed.weight'), [cfg.numClasses + 1, cfg.encoder.width], 0, 0.02));
}

function addDecoder(b: Builder, cfg: ViTConfig): void {
  const dec = cfg.decoder;
  if (!dec) throw new Error(`ViT config '${cfg.name}' has no decoder: set config.decoder = {depth, width, heads}`);
  const D = cfg.encoder.width;
  const d = dec.width;
  const { patchDim } = tokenLayout(cfg);
  if (d !== D) b.linear('encoder_to_decoder', D, d);
  for (let j = 0; j < dec.depth; j++) {
    const p = `decoder_blocks.${j}`;
    addBlock(b, p, d, cfg.mlpRatio, 'finetune');
    b.linear(`${p}.skip_linear`, d + D, d);
    b.norm(`${p}.skip_norm`, d);
    // adaLN-Zero: the modulation's Linear starts at zero, so every gate is 0 at init.
    b.linear(`${p}.adaLN_modulation.1`, D, 6 * d, { zero: true });
  }
  b.norm('out_norm', d);
  b.linear('out', d, patchDim, { zero: true });
}

export interface BuildOptions {
  /** Seeded stream for the initial values (e.g. RandomStream.derive(seed, 0, 'vit-init')). */
  readonly rng: RandomStream;
  /** Default 'moco' for the pre-training model, 'finetune' for the network. */
  readonly init?: InitScheme;
  /** Pre-training model only: add a class embedding to the [CLS] input (default false, as rRCM/EPG). */
  readonly classConditional?: boolean;
}

function assertEmpty(store: ParameterStore, what: string): void {
  if (store.entries().length > 0) {
    throw new Error(`${what}: the store (prefix '${store.prefix}') already holds parameters; build into an empty store or a fresh scope`);
  }
}

/**
 * Registers the pre-training model (encoder + projector if configured) into `store` and returns its
 * EncoderFn. Init: MoCo by default (docs/method.md, "Architecture").
 */
export function buildPretrainModel(store: ParameterStore, cfg: ViTConfig, opts: BuildOptions): EncoderFn {
  validateConfig(cfg);
  assertEmpty(store, 'buildPretrainModel');
  const b = new Builder(store, opts.rng);
  const init = opts.init ?? 'moco';
  addEncoder(b, cfg, init);
  if (opts.classConditional) {
    if (cfg.numClasses <= 0) throw new Error(`buildPretrainModel: classConditional needs config.numClasses > 0 ('${cfg.name}' has 0)`);
    addClassEmbed(b, cfg);
  }
  if (cfg.projector) addProjector(b, cfg);
  return makeEncoderFn(store, cfg);
}

/**
 * Registers the fine-tuning network (encoder, class embedding when numClasses > 0, decoder) into
 * `store` and returns its NetworkFn. Init: EPG's DMViT.init_weights by default; load pre-trained
 * encoder weights afterwards with `copyEncoderWeights`.
 */
export function buildFinetuneNetwork(store: ParameterStore, cfg: ViTConfig, opts: BuildOptions): NetworkFn {
  validateConfig(cfg);
  assertEmpty(store, 'buildFinetuneNetwork');
  const b = new Builder(store, opts.rng);
  addEncoder(b, cfg, opts.init ?? 'finetune');
  if (cfg.numClasses > 0) addClassEmbed(b, cfg);
  addDecoder(b, cfg);
  return makeNetworkFn(store, cfg);
}

/** True for the names of the encoder proper (what fine-tuning takes from a pre-trained checkpoint). */
export function isEncoderParam(name: string): boolean {
  return /^(patch_embed|cls_token|pos_embed|blocks|norm)(\.|$)/.test(name);
}

/**
 * Copies the encoder weights (patch embedding, [CLS], pos-embed, blocks, final LN) of a pre-trained
 * store into a fine-tuning store; projector and BN buffers are ignored, as EPG's non-strict load.
 */
export function copyEncoderWeights(target: ParameterStore, pretrained: ParameterStore): void {
  const rel = (n: string) => n.slice(target.prefix.length);
  target.copyFrom(pretrained, (e) => isEncoderParam(rel(e.name)));
}

// ---------------------------------------------------------------------------------------------
// Forward

function checkInputs(cfg: ViTConfig, x: tf.Tensor4D, time: TimeValues, labels: tf.Tensor1D | undefined, who: string): void {
  const want = [cfg.imageSize, cfg.imageSize, cfg.channels];
  if (x.rank !== 4 || x.shape[1] !== want[0] || x.shape[2] !== want[1] || x.shape[3] !== want[2]) {
    throw epgError('shape', `${who}: input has shape [${x.shape}] but preset '${cfg.name}' expects NHWC [B, ${want.join(', ')}]`, 'resize the images or pick a preset of their size');
  }
  const B = x.shape[0];
  if (!(time instanceof Float64Array) || time.length !== B) {
    const got = time instanceof Float64Array ? `${time.length} values` : 'not a Float64Array';
    throw epgError('shape', `${who}: time values must be a host Float64Array with one value per sample [${B}], got ${got}`, 'pass timeValues(sigma, encoding) of @epg/contracts');
  }
  for (const t of time) {
    if (!Number.isFinite(t)) throw epgError('numeric', `${who}: time value ${t} is not finite`, 'σ must be finite and > 0');
  }
  if (labels && (labels.rank !== 1 || labels.shape[0] !== B)) {
    throw epgError('shape', `${who}: labels have shape [${labels.shape}], expected one id per sample [${B}]`, 'pass one int32 class id per image');
  }
}

/** Decoder dropout mask with entries 0 or 1/(1−p), drawn on the host from `rs` (same stream state ⇒ same mask). */
export function dropoutMask(rs: RandomStream, shape: readonly number[], rate: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const keep = 1 - rate;
  const data = new Float32Array(n);
  const scale = 1 / keep;
  for (let i = 0; i < n; i++) data[i] = rs.uniform() < keep ? scale : 0;
  return tf.tensor(data, [...shape], 'float32');
}

interface EncoderState {
  /** Encoder output tokens after the final LayerNorm [B, T, D]. */
  readonly tokens: tf.Tensor3D;
  /** Each block's output before the final LN (the long-skip stack) [B, T, D]. */
  readonly skips: tf.Tensor3D[];
  /** Sinusoidal time embedding [B, D] (the time token before pos-embed). */
  readonly time: tf.Tensor2D;
  /** Class embedding [B, D] when labels were given. */
  readonly label?: tf.Tensor2D;
}

/** One pre-LN block [EPG:rcm/vit.py `Block`]: x + Attn(LN(x)), then + MLP(LN(·)); weights under `p.` in `store`. */
export function encoderBlock(store: ParameterStore, p: string, x: tf.Tensor3D, heads: number): tf.Tensor3D {
  const g = (n: string) => store.get(`${p}.${n}`);
  const a = attention(layerNorm(x, g('norm1.weight'), g('norm1.bias')) as tf.Tensor3D, {
    qkv: g('attn.qkv.weight'),
    proj: g('attn.proj.weight'),
    projBias: g('attn.proj.bias'),
  }, heads); // [B, T, D]
  const h = tf.add(x, a) as tf.Tensor3D; // [B, T, D]
  const m = mlp(layerNorm(h, g('norm2.weight'), g('norm2.bias')), g('mlp.fc1.weight'), g('mlp.fc1.bias'), g('mlp.fc2.weight'), g('mlp.fc2.bias')); // [B, T, D]
  return tf.add(h, m) as tf.Tensor3D; // [B, T, D]
}

/** Token order [CLS], time, patches; pos-embed on all; pre-LN blocks; final LN (docs/method.md, "Architecture"). */
function runEncoder(
  store: ParameterStore,
  cfg: ViTConfig,
  x: tf.Tensor4D, // [B, H, W, C]
  timeValues: TimeValues, // [B] on the host
  labels: tf.Tensor1D | undefined, // [B] int32
  keepAllTokens: boolean,
): EncoderState {
  const B = x.shape[0];
  const D = cfg.encoder.width;
  const { patches } = tokenLayout(cfg);
  const patchTokens = linear(patchify(x, cfg.patchSize), store.get('patch_embed.proj.weight'), store.get('patch_embed.proj.bias')).reshape([B, patches, D]); // [B, L, D]
  // The embedding is computed on the host from the host time values (float64 arguments), then uploaded.
  const time = tf.tensor2d(timestepEmbedding(timeValues, D), [B, D]); // [B, D]
  let cls: tf.Tensor = tf.tile(store.get('cls_token'), [B, 1, 1]); // [B, 1, D]
  let label: tf.Tensor2D | undefined;
  if (labels) {
    if (!store.has('class_embed.weight')) {
      throw epgError('config', `ViT '${cfg.name}': labels were given but the model has no class embedding`, 'use a preset with numClasses > 0 (or classConditional), or pass no labels');
    }
    label = embed(labels, store.get('class_embed.weight') as tf.Tensor2D); // [B, D]
    cls = tf.add(cls, label.reshape([B, 1, D])); // [B, 1, D]
  }
  let h = tf.add(tf.concat([cls, time.reshape([B, 1, D]), patchTokens], 1), store.get('pos_embed')) as tf.Tensor3D; // [B, T, D]
  const skips: tf.Tensor3D[] = [];
  for (let i = 0; i < cfg.encoder.depth; i++) {
    h = encoderBlock(store, `blocks.${i}`, h, cfg.encoder.heads); // [B, T, D]
    skips.push(h);
  }
  const normIn = keepAllTokens ? h : (h.slice([0, 0, 0], [B, 1, D]) as tf.Tensor3D); // [B, T, D] or [B, 1, D]
  const tokens = layerNorm(normIn, store.get('norm.weight'), store.get('norm.bias')) as tf.Tensor3D; // same as normIn
  return { tokens, skips, time, label };
}

function projector(store: ParameterStore, z: tf.Tensor2D): tf.Tensor2D {
  const bn = (i: number) => ({
    weight: store.get(`projection_head.${i}.weight`),
    bias: store.get(`projection_head.${i}.bias`),
    runningMean: store.get(`projection_head.${i}.running_mean`),
    runningVar: store.get(`projection_head.${i}.running_var`),
  });
  const training = store.training;
  let h = linear(z, store.get('projection_head.0.weight')) as tf.Tensor2D; // [B, hidden]
  h = batchNorm1d(h, bn(1), training, { relu: true }); // [B, hidden]
  h = linear(h, store.get('projection_head.3.weight')) as tf.Tensor2D; // [B, hidden]
  h = batchNorm1d(h, bn(4), training, { relu: true }); // [B, hidden]
  return linear(h, store.get('projection_head.6.weight')) as tf.Tensor2D; // [B, out]
}

/**
 * The pre-training forward over any store holding the names of `buildPretrainModel`:
 * `{cls: z = LN([CLS]), proj: projector(z)}`. BatchNorm follows `store.training` (train: batch
 * statistics and a running-statistics update; eval: running statistics). Runs in tf.tidy.
 */
export function makeEncoderFn(store: ParameterStore, cfg: ViTConfig): EncoderFn {
  validateConfig(cfg);
  const hasProjector = store.has('projection_head.0.weight');
  return (xIn, time, labels) => {
    checkInputs(cfg, xIn, time, labels, `encoder '${cfg.name}'`);
    return tf.tidy(() => {
      const B = xIn.shape[0];
      const enc = runEncoder(store, cfg, xIn, time, labels, false);
      const cls = enc.tokens.reshape([B, cfg.encoder.width]) as tf.Tensor2D; // [B, D]
      return hasProjector ? { cls, proj: projector(store, cls) } : { cls };
    });
  };
}

/**
 * One decoder block [EPG:rcm/vit.py@bf76f78 `DecoderBlock`]: optional skip fusion LN(Linear([x, skip])),
 * then adaLN-Zero modulated attention and MLP, gated, conditioned on `cond` [B, D_enc].
 */
export function decoderBlock(
  store: ParameterStore,
  p: string,
  x: tf.Tensor3D,
  cond: tf.Tensor2D,
  skip: tf.Tensor3D | undefined,
  heads: number,
  projMask: tf.Tensor | undefined,
): tf.Tensor3D {
  const g = (n: string) => store.get(`${p}.${n}`);
  if (skip) {
    x = linear(tf.concat([x, skip], 2), g('skip_linear.weight'), g('skip_linear.bias')) as tf.Tensor3D; // [B, T, d + D] → [B, T, d]
    x = layerNorm(x, g('skip_norm.weight'), g('skip_norm.bias')) as tf.Tensor3D; // [B, T, d]
  }
  const mods = linear(silu(cond), g('adaLN_modulation.1.weight'), g('adaLN_modulation.1.bias')); // [B, 6d]
  const [shift1, scale1, gate1, shift2, scale2, gate2] = tf.split(mods, 6, 1) as tf.Tensor2D[]; // 6 × [B, d]
  // modulate(LN(x), shift, scale) and x + gate·block(·): one fused op each (the composition off the native path).
  const a = attention(layerNormModulate(x, g('norm1.weight'), g('norm1.bias'), shift1, scale1), {
    qkv: g('attn.qkv.weight'),
    proj: g('attn.proj.weight'),
    projBias: g('attn.proj.bias'),
  }, heads, projMask); // [B, T, d]
  const h = gatedResidual(x, gate1, a); // [B, T, d]
  const m = mlp(layerNormModulate(h, g('norm2.weight'), g('norm2.bias'), shift2, scale2), g('mlp.fc1.weight'), g('mlp.fc1.bias'), g('mlp.fc2.weight'), g('mlp.fc2.bias')) as tf.Tensor3D; // [B, T, d]
  return gatedResidual(h, gate2, m); // [B, T, d]
}

/**
 * The fine-tuning forward [EPG:rcm/vit.py@bf76f78 `DMViT.forward`] over any store holding the names
 * of `buildFinetuneNetwork`. Labels (when given) are added to the [CLS] input and to the adaLN vector;
 * without labels no class embedding is used (as PyTorch with y=None). Runs in tf.tidy.
 *
 * Dropout (config.decoderDropout > 0, store in training mode) draws its masks from `call.dropout`, a
 * per-call stream: two calls given streams in the same state draw the same masks (the online and target
 * passes of consistency fine-tuning, docs/method.md, "Consistency fine-tuning").
 */
export function makeNetworkFn(store: ParameterStore, cfg: ViTConfig): NetworkFn {
  validateConfig(cfg);
  const dec = cfg.decoder;
  if (!dec) throw new Error(`ViT config '${cfg.name}' has no decoder: a fine-tuning network needs config.decoder`);
  const { tokens: T } = tokenLayout(cfg);
  return (xIn: tf.Tensor4D, time: TimeValues, labels?: tf.Tensor1D, call?: NetworkCall) => {
    checkInputs(cfg, xIn, time, labels, `network '${cfg.name}'`);
    const useDropout = cfg.decoderDropout > 0 && store.training;
    const dropout = call?.dropout;
    if (useDropout && !dropout) {
      throw epgError('config', `network '${cfg.name}': decoderDropout ${cfg.decoderDropout} in training mode needs a dropout stream`, 'pass call = { dropout: stream } (diffusionTrainStep does), or set the store to eval mode');
    }
    return tf.tidy(() => {
      const B = xIn.shape[0];
      const enc = runEncoder(store, cfg, xIn, time, labels, true);
      let x: tf.Tensor3D = enc.tokens; // [B, T, D]
      if (store.has('encoder_to_decoder.weight')) {
        x = linear(x, store.get('encoder_to_decoder.weight'), store.get('encoder_to_decoder.bias')) as tf.Tensor3D; // [B, T, d]
      }
      const cond = enc.label ? (tf.add(enc.time, enc.label) as tf.Tensor2D) : enc.time; // [B, D]
      const skips = [...enc.skips];
      for (let j = 0; j < dec.depth; j++) {
        const mask = useDropout ? dropoutMask(dropout!, [B, T, dec.width], cfg.decoderDropout) : undefined; // [B, T, d]
        x = decoderBlock(store, `decoder_blocks.${j}`, x, cond, skips.pop(), dec.heads, mask); // [B, T, d]
      }
      const patchesOut = x.slice([0, 2, 0], [B, T - 2, dec.width]); // [B, L, d]
      const out = linear(layerNorm(patchesOut, store.get('out_norm.weight'), store.get('out_norm.bias')), store.get('out.weight'), store.get('out.bias')); // [B, L, P]
      return unpatchify(out, B, cfg.imageSize, cfg.patchSize, cfg.channels); // [B, H, W, C]
    });
  };
}
