/**
 * Name and layout map between this package's parameters and a PyTorch EPG / rRCM state dict, read
 * from the checkpoint as it is (`.pth` / `.pt` / `.bin` written by torch.save) or from safetensors
 * by @epg/tensor's `readStateDict(path, { select: 'ema' })`. Names are identical (`blocks.3.attn.qkv.weight`, `decoder_blocks.0.
 * adaLN_modulation.1.bias`, `projection_head.4.running_var`, ...); only layouts differ
 * [docs/method.md §9 Q15]:
 *  - every nn.Linear weight: PyTorch (out, in) → here (in, out), a transpose;
 *  - the patch-embedding Conv2d weight: PyTorch (O=D, I=C, kh, kw) → tfjs conv (kh, kw, C, D) →
 *    here the patchify matrix (kh·kw·C, D), rows ordered (p_row, p_col, channel);
 *  - everything else (biases, LayerNorm/BatchNorm vectors and buffers, cls_token (1,1,D),
 *    pos_embed (1,T,D), class_embed.weight (K+1, D)) is copied as is.
 * BatchNorm's `num_batches_tracked` (int64, unused with momentum 0.1) has no counterpart and is skipped.
 * Pure host arrays: no tfjs here except in `loadTorchStateDict` / `exportTorchStateDict`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '@epg/tensor';

export type Layout = 'same' | 'linear' | 'patch-conv';

export interface NameRule {
  /** Matches the (shared) parameter name. */
  readonly pattern: RegExp;
  readonly layout: Layout;
  readonly note: string;
}

/** The map as data, first match wins. */
export const TORCH_NAME_RULES: readonly NameRule[] = [
  { pattern: /^patch_embed\.proj\.weight$/, layout: 'patch-conv', note: 'Conv2d (D, C, p, p) → patchify matrix (p·p·C, D)' },
  {
    pattern: /(^|\.)(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2|skip_linear|adaLN_modulation\.1|encoder_to_decoder|out|projection_head\.[036])\.weight$/,
    layout: 'linear',
    note: 'nn.Linear (out, in) → (in, out)',
  },
  { pattern: /.*/, layout: 'same', note: 'copied as is' },
];

/** PyTorch keys with no counterpart here. */
export const TORCH_IGNORED: readonly RegExp[] = [/\.num_batches_tracked$/];

export function layoutOf(name: string): Layout {
  return TORCH_NAME_RULES.find((r) => r.pattern.test(name))!.layout;
}

/** A host tensor in PyTorch or this package's layout (not @epg/tensor's optimiser `HostTensor`, which carries a dtype). */
export interface TorchLayoutTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function toFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** One PyTorch tensor in this package's layout. `name` selects the rule. */
export function fromTorchLayout(name: string, t: { shape: readonly number[]; data: ArrayLike<number> }): TorchLayoutTensor {
  const layout = layoutOf(name);
  const src = toFloat32(t.data);
  if (layout === 'same') return { shape: [...t.shape], data: src };
  if (layout === 'linear') {
    if (t.shape.length !== 2) throw new Error(`'${name}': a Linear weight must be 2-D (out, in), got [${t.shape}]`);
    const [out, inp] = t.shape;
    const dst = new Float32Array(out * inp);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) dst[i * out + o] = src[o * inp + i];
    return { shape: [inp, out], data: dst };
  }
  if (t.shape.length !== 4 || t.shape[2] !== t.shape[3]) throw new Error(`'${name}': the patch conv weight must be (D, C, p, p), got [${t.shape}]`);
  const [D, C, p] = t.shape;
  const dst = new Float32Array(D * C * p * p);
  for (let o = 0; o < D; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < p; i++)
        for (let j = 0; j < p; j++) dst[((i * p + j) * C + c) * D + o] = src[((o * C + c) * p + i) * p + j];
  return { shape: [p * p * C, D], data: dst };
}

/** Inverse of `fromTorchLayout`; `channels` is needed to split the patchify rows back into (p, p, C). */
export function toTorchLayout(name: string, t: TorchLayoutTensor, channels: number): TorchLayoutTensor {
  const layout = layoutOf(name);
  if (layout === 'same') return { shape: [...t.shape], data: t.data };
  if (layout === 'linear') {
    const [inp, out] = t.shape;
    const dst = new Float32Array(out * inp);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) dst[o * inp + i] = t.data[i * out + o];
    return { shape: [out, inp], data: dst };
  }
  const [rows, D] = t.shape;
  const p = Math.round(Math.sqrt(rows / channels));
  if (p * p * channels !== rows) throw new Error(`'${name}': ${rows} patchify rows do not factor as p·p·${channels}`);
  const dst = new Float32Array(rows * D);
  for (let o = 0; o < D; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < p; i++)
        for (let j = 0; j < p; j++) dst[((o * channels + c) * p + i) * p + j] = t.data[((i * p + j) * channels + c) * D + o];
  return { shape: [D, channels, p, p], data: dst };
}

export interface LoadOptions {
  /** Prefix to strip from PyTorch keys (e.g. 'module.' from DDP, 'online_model.'); default none. */
  readonly stripPrefix?: string;
  /** Store entries (relative names) allowed to be absent from the state dict; default none (strict). */
  readonly allowMissing?: (name: string) => boolean;
  /** Throw on PyTorch keys with no counterpart in the store (default false: reported, as EPG's non-strict load). */
  readonly strictUnexpected?: boolean;
}

export interface LoadReport {
  readonly loaded: string[];
  readonly missing: string[];
  readonly unexpected: string[];
}

/**
 * Assigns the values of a PyTorch state dict (e.g. `decodeSafetensors(buf).tensors`) to the
 * parameters and buffers of `store`, converting layouts. Throws one line naming the first tensor
 * whose shape does not fit, or the missing names when not allowed.
 */
export function loadTorchStateDict(
  store: ParameterStore,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>,
  opts: LoadOptions = {},
): LoadReport {
  const strip = opts.stripPrefix ?? '';
  const byName = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  const unexpected: string[] = [];
  for (const [key, t] of tensors) {
    if (strip && !key.startsWith(strip)) continue;
    const name = key.slice(strip.length);
    if (TORCH_IGNORED.some((r) => r.test(name))) continue;
    byName.set(name, t);
  }
  const loaded: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const e of store.entries()) {
    const rel = e.name.slice(store.prefix.length);
    const t = byName.get(rel);
    if (!t) {
      missing.push(rel);
      continue;
    }
    seen.add(rel);
    const host = fromTorchLayout(rel, t);
    const want = e.variable.shape;
    if (host.shape.length !== want.length || host.shape.some((d, i) => d !== want[i])) {
      throw new Error(`loadTorchStateDict: '${rel}' converts to [${host.shape}] but the model expects [${want}]: the checkpoint was made for another preset`);
    }
    tf.tidy(() => e.variable.assign(tf.tensor(host.data, [...host.shape], 'float32')));
    loaded.push(rel);
  }
  for (const name of byName.keys()) if (!seen.has(name)) unexpected.push(name);
  const notAllowed = missing.filter((n) => !opts.allowMissing?.(n));
  if (notAllowed.length > 0) {
    throw new Error(`loadTorchStateDict: ${notAllowed.length} parameter(s) missing from the checkpoint, first '${notAllowed[0]}': check stripPrefix or pass allowMissing`);
  }
  if (opts.strictUnexpected && unexpected.length > 0) {
    throw new Error(`loadTorchStateDict: ${unexpected.length} checkpoint key(s) have no parameter here, first '${unexpected[0]}'`);
  }
  return { loaded, missing, unexpected };
}

/** The store's parameters and buffers as a PyTorch-layout state dict (for `encodeSafetensors`). */
export function exportTorchStateDict(store: ParameterStore, channels: number): Record<string, TorchLayoutTensor> {
  const out: Record<string, TorchLayoutTensor> = {};
  for (const e of store.entries()) {
    const rel = e.name.slice(store.prefix.length);
    out[rel] = toTorchLayout(rel, { shape: e.variable.shape, data: e.variable.dataSync() as Float32Array }, channels);
  }
  return out;
}
