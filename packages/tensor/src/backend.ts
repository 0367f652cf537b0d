/**
 * Backend choice. tfjs picks a backend implicitly on the first op; we never let it: apps call
 * `initBackend()` once at start-up, which tries node-gpu, node, wasm, cpu in that order (or the one
 * forced by EPG_BACKEND), prints one line saying which runs and why the others were skipped, and
 * returns that report. Nothing here runs at import time.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // op gradients (see index.ts)
import { existsSync } from 'node:fs';
import { registerNativeKernels, type NativeKernelsReport } from '@epg/tensor-native';
import { dirname, join } from 'node:path';
import { EpgError } from './errors';

export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** Names accepted in EPG_BACKEND besides the canonical ones. `tensorflow` means either native one. */
const ALIASES: Record<string, readonly BackendName[]> = {
  'node-gpu': ['node-gpu'],
  gpu: ['node-gpu'],
  'tfjs-node-gpu': ['node-gpu'],
  node: ['node'],
  'tfjs-node': ['node'],
  tensorflow: ['node-gpu', 'node'],
  wasm: ['wasm'],
  cpu: ['cpu'],
};

export interface BackendReport {
  /** The backend that runs. */
  readonly name: BackendName;
  /** The tfjs engine's name for it ('tensorflow', 'wasm' or 'cpu'). */
  readonly tfName: string;
  /** Why it was chosen: forced by EPG_BACKEND / option, or first that loaded. */
  readonly reason: string;
  /** Backends tried before it and why each was skipped. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly why: string }>;
  /** Native cpu kernels (@epg/tensor-native): active or why not. They serve the cpu backend only. */
  readonly native: NativeKernelsReport;
}

/**
 * A backend that cannot be chosen or loaded: an EpgError (kind 'config' for a bad EPG_BACKEND or
 * EPG_NATIVE_* value, 'environment' for one that does not load), so the apps print it as one line.
 */
export class BackendError extends EpgError {
  override readonly name: string = 'BackendError';
  constructor(message: string, kind: 'config' | 'environment' = 'environment') {
    super(kind, message);
  }
}

const NATIVE_PACKAGES: Record<'node' | 'node-gpu', string> = {
  node: '@tensorflow/tfjs-node',
  'node-gpu': '@tensorflow/tfjs-node-gpu',
};

/** Result of one attempt: the tfjs backend name, or why it cannot load. */
type Attempt = { ok: true; tfName: string } | { ok: false; why: string };

async function tryNative(which: 'node' | 'node-gpu'): Promise<Attempt> {
  const pkg = NATIVE_PACKAGES[which];
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return { ok: false, why: `${pkg} is not installed` };
  }
  // A failed require of tfjs-node still registers its kernels and then throws; check the addon
  // file first so a machine without libtensorflow stays quiet.
  const binding = join(pkgDir, 'lib', 'napi-v8', 'tfjs_binding.node');
  if (!existsSync(binding)) {
    return { ok: false, why: `${pkg} has no native addon (libtensorflow was not downloaded at install)` };
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when chosen
    require(pkg);
  } catch (e) {
    return { ok: false, why: `${pkg} failed to load: ${firstLine(e)}` };
  }
  return (await setAndCheck('tensorflow')) ?? { ok: true, tfName: 'tensorflow' };
}

async function tryWasm(): Promise<Attempt> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- registering it must wait for initBackend
    require('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, why: `@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(e)}` };
  }
  return (await setAndCheck('wasm')) ?? { ok: true, tfName: 'wasm' };
}

async function tryCpu(): Promise<Attempt> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see tryWasm
  require('@tensorflow/tfjs-backend-cpu');
  return (await setAndCheck('cpu')) ?? { ok: true, tfName: 'cpu' };
}

/** Sets the tfjs backend and runs one op on it; returns a failure, or undefined on success. */
async function setAndCheck(tfName: string): Promise<Attempt | undefined> {
  try {
    const ok = await tf.setBackend(tfName);
    if (!ok) return { ok: false, why: `tfjs could not initialise the '${tfName}' backend` };
    await tf.ready();
    // The cpu backend nags once about installing tfjs-node; our start-up line already reports why
    // it runs, so mark it as used (a private field of tfjs-backend-cpu 4.x; harmless if absent).
    const b = tf.engine().backend as unknown as { firstUse?: boolean };
    if (tfName === 'cpu' && b && 'firstUse' in b) b.firstUse = false;
    const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);
    if (probe !== 3) return { ok: false, why: `'${tfName}' computed 1+2=${probe}` };
    return undefined;
  } catch (e) {
    return { ok: false, why: `'${tfName}' failed to initialise: ${firstLine(e)}` };
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

const ATTEMPTS: Record<BackendName, () => Promise<Attempt>> = {
  'node-gpu': () => tryNative('node-gpu'),
  node: () => tryNative('node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

export interface InitBackendOptions {
  /** Force one backend (same names as EPG_BACKEND). Defaults to process.env.EPG_BACKEND. */
  readonly force?: string;
  /** Where the one-line report goes; `null` silences it. Defaults to stderr. */
  readonly log?: ((line: string) => void) | null;
}

let current: BackendReport | undefined;

/** The report of the last successful `initBackend`, if any. */
export function backendReport(): BackendReport | undefined {
  return current;
}

/**
 * Chooses and initialises the tfjs backend. Throws a one-line `BackendError` when a forced backend
 * cannot load (the caller exits non-zero with it).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  const forced = (opts.force ?? process.env.EPG_BACKEND ?? '').trim();
  // Native kernels register into tfjs's kernel registry for 'cpu' (idempotent; EPG_NATIVE=0 turns
  // them off). When active, the cpu backend beats wasm by ~10x on a training step, so it goes first.
  let native: NativeKernelsReport;
  try {
    native = registerNativeKernels();
  } catch (e) {
    // a bad EPG_NATIVE_THREADS / EPG_NATIVE_CONV / EPG_NATIVE_POOL_MB value, named in the message
    throw new BackendError((e as Error).message, 'config');
  }
  let candidates: readonly BackendName[] = native.active ? ['node-gpu', 'node', 'cpu', 'wasm'] : BACKEND_ORDER;
  if (forced) {
    const c = ALIASES[forced.toLowerCase()];
    if (!c) {
      throw new BackendError(
        `EPG_BACKEND=${forced} is not a backend: use one of ${Object.keys(ALIASES).join(', ')}, or unset it to choose automatically.`,
        'config',
      );
    }
    candidates = c;
  }
  const skipped: Array<{ name: BackendName; why: string }> = [];
  for (const name of candidates) {
    const r = await ATTEMPTS[name]();
    if (r.ok) {
      const reason = forced ? `forced by ${opts.force ? 'option' : 'EPG_BACKEND'}=${forced}` : 'first that loaded';
      current = { name, tfName: r.tfName, reason, skipped, native };
      const log = opts.log === undefined ? (l: string) => process.stderr.write(l + '\n') : opts.log;
      log?.(formatReport(current));
      return current;
    }
    skipped.push({ name, why: r.why });
  }
  const whys = skipped.map((s) => `${s.name}: ${s.why}`).join('; ');
  if (forced) {
    const hint = candidates.some((c) => c === 'node' || c === 'node-gpu')
      ? ' Native tfjs needs libtensorflow, fetched when its install script runs (`pnpm rebuild @tensorflow/tfjs-node-gpu` on a machine that can download it); or unset EPG_BACKEND to use wasm/cpu.'
      : ' Unset EPG_BACKEND to choose automatically.';
    throw new BackendError(`EPG_BACKEND=${forced} cannot load (${whys}).${hint}`);
  }
  throw new BackendError(`no tfjs backend could load (${whys}).`);
}

export function formatReport(r: BackendReport): string {
  const skipped = r.skipped.length ? `; skipped ${r.skipped.map((s) => `${s.name} (${s.why})`).join(', ')}` : '';
  const native = r.native.active
    ? r.name === 'cpu'
      ? `; ${r.native.why}`
      : '; native cpu kernels loaded but unused on this backend'
    : `; native cpu kernels off: ${r.native.why}`;
  return `[epg] tfjs backend: ${r.name} (${r.reason})${native}${skipped}`;
}
