/**
 * Named parameters. A `ParameterStore` owns tf.Variables under stable dotted names
 * (`encoder.blocks.3.attn.qkv.weight`), marks each as trainable or not and with or without weight
 * decay, holds non-trainable buffers (BatchNorm running statistics), and carries the train/eval mode.
 * `scope('encoder')` gives a view that prefixes names and shares the store.
 */
import * as tf from '@tensorflow/tfjs-core';

export type ParamKind = 'param' | 'buffer';

export interface ParamEntry {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly kind: ParamKind;
  /** Updated by optimisers (false for buffers and frozen parameters). */
  trainable: boolean;
  /** Receives decoupled weight decay in AdamW's default group. */
  readonly weightDecay: boolean;
}

export interface AddOptions {
  /** Default true. */
  readonly trainable?: boolean;
  /** Default: true for tensors of rank >= 2, false for biases, norms and other vectors. */
  readonly weightDecay?: boolean;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

class Registry {
  readonly entries = new Map<string, ParamEntry>();
  training = true;
}

export class ParameterStore {
  private constructor(
    private readonly registry: Registry,
    /** Prefix of this view, '' for the root, else ending in '.'. */
    readonly prefix: string,
  ) {}

  static create(): ParameterStore {
    return new ParameterStore(new Registry(), '');
  }

  /** A view whose names are prefixed by `name.`; it shares entries and mode with this store. */
  scope(name: string | number): ParameterStore {
    const n = String(name);
    if (!NAME_RE.test(n) && !/^[0-9]+$/.test(n)) throw new Error(`invalid scope name '${n}'`);
    return new ParameterStore(this.registry, `${this.prefix}${n}.`);
  }

  private fullName(name: string): string {
    const full = this.prefix + name;
    if (!NAME_RE.test(full)) throw new Error(`invalid parameter name '${full}': use dotted identifiers`);
    return full;
  }

  /**
   * Registers a parameter. The store takes ownership of `init` (it becomes the variable's value and
   * is disposed with the store). Throws if the name is taken.
   */
  add(name: string, init: tf.Tensor, opts: AddOptions = {}): tf.Variable {
    return this.register(name, init, 'param', opts.trainable ?? true, opts.weightDecay ?? init.rank >= 2);
  }

  /** Registers a non-trainable buffer (saved in checkpoints, never optimised or EMA-averaged). */
  addBuffer(name: string, init: tf.Tensor): tf.Variable {
    return this.register(name, init, 'buffer', false, false);
  }

  private register(name: string, init: tf.Tensor, kind: ParamKind, trainable: boolean, weightDecay: boolean): tf.Variable {
    const full = this.fullName(name);
    if (this.registry.entries.has(full)) {
      init.dispose();
      throw new Error(`parameter '${full}' is already registered`);
    }
    // Unnamed tf.Variables: tfjs requires globally unique names, and two copies of a model
    // (online and EMA target) legitimately share ours.
    const variable = tf.variable(init, trainable, undefined, 'float32');
    init.dispose();
    this.registry.entries.set(full, { name: full, variable, kind, trainable, weightDecay });
    return variable;
  }

  get(name: string): tf.Variable {
    const e = this.registry.entries.get(this.prefix + name);
    if (!e) throw new Error(`no parameter named '${this.prefix + name}'`);
    return e.variable;
  }

  has(name: string): boolean {
    return this.registry.entries.has(this.prefix + name);
  }

  /** Entries under this view's prefix, in registration order. */
  entries(filter?: (e: ParamEntry) => boolean): ParamEntry[] {
    const out: ParamEntry[] = [];
    for (const e of this.registry.entries.values()) {
      if (e.name.startsWith(this.prefix) && (!filter || filter(e))) out.push(e);
    }
    return out;
  }

  names(): string[] {
    return this.entries().map((e) => e.name);
  }

  trainableEntries(): ParamEntry[] {
    return this.entries((e) => e.kind === 'param' && e.trainable);
  }

  /** Number of scalars in parameters (buffers excluded). */
  count(opts: { trainableOnly?: boolean } = {}): number {
    return this.entries((e) => e.kind === 'param' && (!opts.trainableOnly || e.trainable)).reduce(
      (n, e) => n + e.variable.size,
      0,
    );
  }

  /** Freezes (or unfreezes) every parameter under this view. */
  setTrainable(trainable: boolean): void {
    for (const e of this.entries((x) => x.kind === 'param')) e.trainable = trainable;
  }

  /** True in training mode (dropout active, BatchNorm uses and updates batch statistics). */
  get training(): boolean {
    return this.registry.training;
  }

  train(): this {
    this.registry.training = true;
    return this;
  }

  eval(): this {
    this.registry.training = false;
    return this;
  }

  /** Copies every value from `other` (same names and shapes required) into this store. */
  copyFrom(other: ParameterStore, filter: (e: ParamEntry) => boolean = () => true): void {
    for (const e of this.entries(filter)) {
      const rel = e.name.slice(this.prefix.length);
      const src = other.get(rel);
      if (!arraysEqual(src.shape, e.variable.shape)) {
        throw new Error(`copyFrom: '${e.name}' has shape [${e.variable.shape}] here but [${src.shape}] in the source`);
      }
      e.variable.assign(src);
    }
  }

  /**
   * A new store with the same names, flags and values (independent variables), e.g. an EMA
   * target network. Only the entries under this view are cloned, with names relative to it.
   */
  clone(): ParameterStore {
    const out = ParameterStore.create();
    out.registry.training = this.registry.training;
    for (const e of this.entries()) {
      const rel = e.name.slice(this.prefix.length);
      const copy = tf.clone(e.variable);
      if (e.kind === 'buffer') out.addBuffer(rel, copy);
      else out.add(rel, copy, { trainable: e.trainable, weightDecay: e.weightDecay });
    }
    return out;
  }

  /** Disposes every variable under this view and forgets it. */
  dispose(): void {
    for (const e of this.entries()) {
      e.variable.dispose();
      this.registry.entries.delete(e.name);
    }
  }
}

export function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
