/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter 2019), in PyTorch's form:
 *   p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε).
 * Parameters are split into groups (first matching group wins), each with an LR multiplier and
 * its own weight decay. The learning rate is a function of the step index: the first update uses
 * lr(0) (so a warm-up schedule that starts at 0 makes the first update a pure decay-free no-op).
 */
import * as tf from '@tensorflow/tfjs-core';
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
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const lr = opts.lr;
    this.lrFn = typeof lr === 'number' ? () => lr : lr;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new RangeError(`AdamW ${k} must be in [0, 1), got ${v}`);
    }
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

  /** The schedule's learning rate for the next update (before group multipliers). */
  currentLr(): number {
    return this.lrFn(this.t);
  }

  /** Group name of each optimised parameter (for reports and tests). */
  groupOf(name: string): string | undefined {
    return this.slots.find((s) => s.entry.name === name)?.group;
  }

  /**
   * Applies one update from gradients keyed by parameter name. Parameters without a gradient are
   * left alone (their moments are not decayed), as PyTorch does for `grad is None`.
   * Does not dispose `grads`.
   */
  apply(grads: NamedTensors): void {
    const lr = this.lrFn(this.t);
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    for (const s of this.slots) {
      const g = grads[s.entry.name];
      if (!g) continue;
      if (!arraysEqual(g.shape, s.entry.variable.shape)) {
        throw new Error(`AdamW: gradient of '${s.entry.name}' has shape [${g.shape}], parameter has [${s.entry.variable.shape}]`);
      }
      const lrG = lr * s.lrMultiplier;
      tf.tidy(() => {
        const m = tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        s.m.assign(m);
        s.v.assign(v);
        const p = s.entry.variable;
        const decayed = s.weightDecay !== 0 ? tf.mul(p, 1 - lrG * s.weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lrG / bc1)));
      });
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
        slot.assign(tf.tensor(h.data, h.shape, 'float32'));
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
