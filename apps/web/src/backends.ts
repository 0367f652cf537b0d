/**
 * The best tfjs backend the browser offers: WebGPU, then WebGL, then wasm, then plain JS cpu. A
 * backend that fails to initialise (no adapter, no WebGL context) is skipped. `?backend=NAME` forces one.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// The .wasm binaries as assets of the build (hashed names): tfjs picks simd or plain at run time.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BACKEND_ORDER)[number];

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });

export interface BackendChoice {
  readonly name: BrowserBackend;
  /** One line for the page: the backend and why the ones before it were skipped. */
  readonly line: string;
}

/** Sets the first backend of BACKEND_ORDER that initialises (or only `forced`). */
export async function chooseBackend(forced?: string | null): Promise<BackendChoice> {
  if (forced && !(BACKEND_ORDER as readonly string[]).includes(forced)) {
    throw new Error(`backend '${forced}' is not one of ${BACKEND_ORDER.join(', ')}: fix the ?backend= parameter`);
  }
  const order = forced ? [forced as BrowserBackend] : BACKEND_ORDER;
  const skipped: string[] = [];
  for (const name of order) {
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch {
      ok = false;
    }
    if (ok && tf.getBackend() === name) {
      const why = forced ? ' (forced by ?backend=)' : skipped.length ? ` (${skipped.join(', ')} unavailable)` : '';
      return { name, line: `tfjs backend: ${name}${why}` };
    }
    skipped.push(name);
  }
  throw new Error(`no tfjs backend initialised (tried ${order.join(', ')})`);
}
