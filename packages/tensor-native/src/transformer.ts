/**
 * Native kernels of the fused adaLN-Zero decoder ops (native/fused_transformer.c): LayerNorm followed
 * by the per-sample modulation, and the gated residual. Used by fused.ts's `layerNormModulate` and
 * `gatedResidual` while native kernels are registered for 'cpu'.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, f32, out, type NativeKernel } from './kernels';

export const EPG_LN_MODULATE = 'EpgLayerNormModulate';
export const EPG_LN_MODULATE_GRAD = 'EpgLayerNormModulateGrad';
export const EPG_GATED_RESIDUAL = 'EpgGatedResidual';
export const EPG_GATED_RESIDUAL_GRAD = 'EpgGatedResidualGrad';

function need(v: Float32Array | undefined, what: string): Float32Array {
  if (!v) throw new Error(`@epg/tensor-native: ${what} must be a float32 tensor on the cpu backend`);
  return v;
}

/** [rows, cols, rows per group] of x [G, T, D] (or [G·T, D] with per-group tensors [G, D]). */
function layout(x: TensorInfo, perGroup: TensorInfo): [number, number, number] {
  const cols = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, b) => a * b, 1) / cols;
  const groups = perGroup.shape.reduce((a, b) => a * b, 1) / cols;
  return [rows, cols, rows / groups];
}

/** inputs {x, gamma, beta, scale, shift}, attrs {eps}: outputs [y, mean, rstd]. */
export const layerNormModulateKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x, scale } = inputs;
  const [rows, cols, groupRows] = layout(x, scale);
  const y = alloc(rows * cols);
  const mean = alloc(rows);
  const rstd = alloc(rows);
  addon.layerNormModulate(
    need(f32(backend, x), 'x'), need(f32(backend, inputs.gamma), 'gamma'), need(f32(backend, inputs.beta), 'beta'),
    need(f32(backend, scale), 'scale'), need(f32(backend, inputs.shift), 'shift'), y, mean, rstd, rows, cols, groupRows, attrs.eps as number,
  );
  return [out(backend, x.shape.slice(), y), out(backend, [rows, 1], mean), out(backend, [rows, 1], rstd)];
};

/** inputs {x, gamma, beta, scale, mean, rstd, dy}: outputs [dx, dgamma, dbeta, dscale, dshift]. */
export const layerNormModulateGradKernel: NativeKernel = (addon, inputs, backend) => {
  const { x, scale } = inputs;
  const [rows, cols, groupRows] = layout(x, scale);
  const dx = alloc(rows * cols);
  const dgamma = alloc(cols);
  const dbeta = alloc(cols);
  const dscale = alloc(rows / groupRows * cols);
  const dshift = alloc(rows / groupRows * cols);
  addon.layerNormModulateGrad(
    need(f32(backend, x), 'x'), need(f32(backend, inputs.gamma), 'gamma'), need(f32(backend, inputs.beta), 'beta'),
    need(f32(backend, scale), 'scale'), need(f32(backend, inputs.mean), 'mean'), need(f32(backend, inputs.rstd), 'rstd'),
    need(f32(backend, inputs.dy), 'dy'), dx, dgamma, dbeta, dscale, dshift, rows, cols, groupRows,
  );
  return [
    out(backend, x.shape.slice(), dx), out(backend, [cols], dgamma), out(backend, [cols], dbeta),
    out(backend, scale.shape.slice(), dscale), out(backend, scale.shape.slice(), dshift),
  ];
};

/** inputs {x, gate, a}: y = x + gate ⊙ a. */
export const gatedResidualKernel: NativeKernel = (addon, inputs, backend) => {
  const { x, gate } = inputs;
  const [rows, cols, groupRows] = layout(x, gate);
  const y = alloc(rows * cols);
  addon.gatedResidual(need(f32(backend, x), 'x'), need(f32(backend, gate), 'gate'), need(f32(backend, inputs.a), 'a'), y, rows, cols, groupRows);
  return out(backend, x.shape.slice(), y);
};

/** inputs {gate, a, dy}: outputs [da, dgate]. */
export const gatedResidualGradKernel: NativeKernel = (addon, inputs, backend) => {
  const { a, gate } = inputs;
  const [rows, cols, groupRows] = layout(a, gate);
  const da = alloc(rows * cols);
  const dgate = alloc(rows / groupRows * cols);
  addon.gatedResidualGrad(need(f32(backend, gate), 'gate'), need(f32(backend, a), 'a'), need(f32(backend, inputs.dy), 'dy'), da, dgate, rows, cols, groupRows);
  return [out(backend, a.shape.slice(), da), out(backend, gate.shape.slice(), dgate)];
};

export const EPG_PER_TENSOR = 'EpgPerTensor';

/** inputs {t0, t1, …} (float32), attrs {kind}: one value per input, kind 0 = Σx², 1 = count of NaN/±∞. */
export const perTensorKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const list = Object.keys(inputs).map((k) => need(f32(backend, inputs[k]), k));
  const sums = new Float64Array(list.length);
  addon.perTensor(attrs.kind as number, list, sums);
  return out(backend, [list.length], Float32Array.from(sums));
};

export const EPG_EMA_EACH = 'EpgEmaEach';

/** inputs {t0…t(n−1), s0…s(n−1)} (float32, pairwise the same size), attrs {n, decay}: n outputs t·decay + s·(1 − decay). */
export const emaEachKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const n = attrs.n as number;
  const targets = Array.from({ length: n }, (_, i) => need(f32(backend, inputs[`t${i}`]), `t${i}`));
  const sources = Array.from({ length: n }, (_, i) => need(f32(backend, inputs[`s${i}`]), `s${i}`));
  const outs = targets.map((t) => alloc(t.length));
  addon.emaEach(targets, sources, outs, attrs.decay as number);
  return outs.map((o, i) => out(backend, inputs[`t${i}`].shape.slice(), o));
};
