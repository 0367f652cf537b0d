/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter 2019), in PyTorch's form:
 *   p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε).
 * Parameters are split into groups (first matching group wins), each with an LR multiplier and
 * its own weight decay. The learning rate is a function of the step index: the first update uses
 * lr(0) (so a warm-up schedule that starts at 0 makes the first update a pure decay-free no-op).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { EpgError, epgError } from '../errors';
import { adamwUpdate, nonFiniteEach } from '@epg/tensor-native';
import type { ParamEntry, ParameterStore } from '../params';
import { arraysEqual } from '../params';
import type { NamedTensors } from '../gradients';

export interface ParamGroup {
  readonly name: string;
  /** Which parameters belong to the group. */
  readonly select: (p: ParamEntry) => boolean;
  /** Multiplies the schedule's learning rate (e.g. layer-wise LR decay). Default 1. */
  readonly lrMultiplier?: number;
  /** Weight decay for this group. Default: the optimiser's, applied only where `entry.weightDecay`. */
  readonly weightDecay?: number;
}

export interface AdamWOptions {
  readonly lr: number | ((step: number) => number);
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Default weight decay. PyTorch's AdamW default is 0.01. */
  readonly weightDecay?: number;
  readonly groups?: readonly ParamGroup[];
}

/** What `apply` did: updated every parameter, or nothing because the update was not finite. */
export type ApplyResult =
  | { readonly applied: true; readonly lr: number }
  | { readonly applied: false; readonly lr: number; readonly nonFinite: string };

const isNum = (x: unknown): x is number => typeof x === 'number';

/**
 * Checks AdamW options where they enter: lr (a number >= 0 or a schedule function), β1, β2 in [0, 1),
 * ε > 0, weight decay >= 0, and each group's multiplier and decay; all finite. Left: the first bad
 * value, as a one-line 'config' error naming the option and the fix.
 */
export function validateAdamWOptions(opts: AdamWOptions): E.Either<EpgError, AdamWOptions> {
  const bad = (what: string, fix: string) => E.left(epgError('config', `AdamW ${what}`, fix));
  if (opts === null || typeof opts !== 'object') return bad(`options must be an object, got ${String(opts)}`, 'pass { lr, ... }');
  const lr: unknown = opts.lr;
  if (typeof lr !== 'function' && !(isNum(lr) && Number.isFinite(lr) && lr >= 0)) {
    return bad(`lr must be a finite number >= 0 or a schedule function, got ${String(lr)}`, 'use e.g. 1e-4 or warmupCosine from @epg/schedules');
  }
  for (const k of ['beta1', 'beta2'] as const) {
    const v: unknown = opts[k];
    if (v !== undefined && !(isNum(v) && v >= 0 && v < 1)) return bad(`${k} must be in [0, 1), got ${String(v)}`, 'use e.g. 0.9 and 0.999');
  }
  const eps: unknown = opts.eps;
  if (eps !== undefined && !(isNum(eps) && Number.isFinite(eps) && eps > 0)) return bad(`eps must be a finite number > 0, got ${String(eps)}`, 'use e.g. 1e-8');
  const wd: unknown = opts.weightDecay;
  if (wd !== undefined && !(isNum(wd) && Number.isFinite(wd) && wd >= 0)) return bad(`weightDecay must be a finite number >= 0, got ${String(wd)}`, 'use e.g. 0.01, or 0 for none');
  for (const g of opts.groups ?? []) {
    const where = `group '${String(g?.name)}'`;
    if (typeof g?.select !== 'function') return bad(`${where} needs a select function`, 'pass select: (p) => boolean');
    const m: unknown = g.lrMultiplier;
    if (m !== undefined && !(isNum(m) && Number.isFinite(m) && m >= 0)) return bad(`${where} lrMultiplier must be a finite number >= 0, got ${String(m)}`, 'use e.g. 0.65^depth for layer-wise decay');
    const gwd: unknown = g.weightDecay;
    if (gwd !== undefined && !(isNum(gwd) && Number.isFinite(gwd) && gwd >= 0)) return bad(`${where} weightDecay must be a finite number >= 0, got ${String(gwd)}`, 'use e.g. 0 for norms and biases');
  }
  return E.right(opts);
}

interface Slot {
  readonly entry: ParamEntry;
  readonly group: string;
  readonly lrMultiplier: number;
  readonly weightDecay: number;
  readonly m: tf.Variable;
  readonly v: tf.Variable;
}

export interface HostTensor {
  readonly dtype: 'float32';
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface AdamWState {
  /** Updates applied so far. */
  readonly step: number;
  readonly tensors: Record<string, HostTensor>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly lrFn: (step: number) => number;
  private readonly slots: Slot[];
  private t = 0;

  constructor(
    readonly store: ParameterStore,
    opts: AdamWOptions,
  ) {
    const valid = validateAdamWOptions(opts);
    if (E.isLeft(valid)) throw valid.left;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const lr = opts.lr;
    this.lrFn = typeof lr === 'number' ? () => lr : lr;
    const groups = opts.groups ?? [];
    this.slots = store.trainableEntries().map((entry) => {
      const g = groups.find((x) => x.select(entry));
      return {
        entry,
        group: g?.name ?? 'default',
        lrMultiplier: g?.lrMultiplier ?? 1,
        weightDecay: g?.weightDecay ?? (entry.weightDecay ? this.weightDecay : 0),
        // tidy disposes the zero initial values (a variable keeps its own reference to the data).
        m: tf.tidy(() => tf.variable(tf.zerosLike(entry.variable), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(entry.variable), false)),
      };
    });
  }

  /** Updates applied so far; the next update uses lr(step). */
  get step(): number {
    return this.t;
  }

  /**
   * The schedule's learning rate for the next update (before group multipliers). Throws a 'config'
   * EpgError when the schedule returns anything but a finite number >= 0.
   */
  currentLr(): number {
    return this.lrAt(this.t);
  }

  private lrAt(step: number): number {
    const lr: unknown = this.lrFn(step);
    if (!(isNum(lr) && Number.isFinite(lr) && lr >= 0)) {
      throw new EpgError('config', `AdamW: the learning-rate schedule returned ${String(lr)} for step ${step}: a schedule must return a finite number >= 0 at every step`);
    }
    return lr;
  }

  /** Group name of each optimised parameter (for reports and tests). */
  groupOf(name: string): string | undefined {
    return this.slots.find((s) => s.entry.name === name)?.group;
  }

  /**
   * Applies one update from gradients keyed by parameter name. Parameters without a gradient are
   * left alone (their moments are not decayed), as PyTorch does for `grad is None`.
   * Transactional: the new parameters and moments are computed first; if any is not finite (a huge
   * learning rate, an overflowing g²), nothing is assigned, the step count stays, and the result
   * names the parameter. Does not dispose `grads`. Throws on a bad schedule value or gradient shape.
   */
  apply(grads: NamedTensors): ApplyResult {
    const lr = this.lrAt(this.t);
    const t = this.t + 1;
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    const pending: Array<{ slot: Slot; m: tf.Tensor; v: tf.Tensor; p: tf.Tensor }> = [];
    try {
      for (const s of this.slots) {
        const g = grads[s.entry.name];
        if (!g) continue;
        if (!arraysEqual(g.shape, s.entry.variable.shape)) {
          throw new Error(`AdamW: gradient of '${s.entry.name}' has shape [${g.shape}], parameter has [${s.entry.variable.shape}]`);
        }
        const lrG = lr * s.lrMultiplier;
        const next = tf.tidy(() => {
          // One native pass on cpu+native (@epg/tensor-native), the same formula as tfjs ops elsewhere.
          const [p, m, v] = adamwUpdate(s.entry.variable, g, s.m, s.v, {
            lr: lrG, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: s.weightDecay, bc1, bc2,
          });
          return { m, v, p };
        });
        pending.push({ slot: s, ...next });
      }
      // One flag per new p, m, v (0 = all finite; one native call on cpu+native), one read.
      const flags = pending.length === 0 ? new Float32Array(0) : tf.tidy(() => nonFiniteEach(pending.flatMap((q) => [q.p, q.m, q.v])).dataSync());
      const bad = flags.findIndex((f) => f !== 0);
      if (bad >= 0) return { applied: false, lr, nonFinite: pending[Math.floor(bad / 3)].slot.entry.name };
      for (const q of pending) {
        q.slot.m.assign(q.m);
        q.slot.v.assign(q.v);
        q.slot.entry.variable.assign(q.p);
      }
      this.t = t;
      return { applied: true, lr };
    } finally {
      for (const q of pending) [q.m, q.v, q.p].forEach((x) => x.dispose());
    }
  }

  /** Moments (`m.<param>`, `v.<param>`) as host arrays, plus the step count. */
  getState(): AdamWState {
    const tensors: Record<string, HostTensor> = {};
    for (const s of this.slots) {
      tensors[`m.${s.entry.name}`] = toHost(s.m);
      tensors[`v.${s.entry.name}`] = toHost(s.v);
    }
    return { step: this.t, tensors };
  }

  /** Restores `getState()` output; every moment must be present with the right shape. */
  setState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`optimizer state: bad step ${state.step}`);
    const expected = new Set(this.slots.flatMap((s) => [`m.${s.entry.name}`, `v.${s.entry.name}`]));
    for (const k of Object.keys(state.tensors)) {
      if (!expected.has(k)) throw new Error(`optimizer state has '${k}', which this model does not optimise (checkpoint of another model?)`);
    }
    for (const s of this.slots) {
      for (const [key, slot] of [[`m.${s.entry.name}`, s.m], [`v.${s.entry.name}`, s.v]] as const) {
        const h = state.tensors[key];
        if (!h) throw new Error(`optimizer state is missing '${key}'`);
        if (!arraysEqual(h.shape, slot.shape)) {
          throw new Error(`optimizer state '${key}' has shape [${h.shape}], expected [${slot.shape}]`);
        }
        const value = tf.tensor(h.data, h.shape, 'float32');
        slot.assign(value);
        value.dispose(); // assign copies; the temporary would leak one tensor per moment
      }
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}

export function toHost(t: tf.Tensor): HostTensor {
  return { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}
