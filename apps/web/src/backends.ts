/**
 * The best tfjs backend the browser offers: WebGPU, then WebGL, then wasm, then plain JS cpu. A
 * backend that fails to initialise (no adapter, no WebGL context) is skipped, and so is a GPU backend
 * on a software rasteriser (SwiftShader, llvmpipe: headless browsers, machines without a GPU), where
 * wasm is several times faster (apps/web/README.md has the figures). `?backend=NAME` forces one.
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
  /** One short line for the page: the backend, and which ones before it were skipped and why. */
  readonly line: string;
  /** The full reasons (renderer strings), for a tooltip. */
  readonly detail: string;
}

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software/i;

/** Why a GPU backend would run on a software rasteriser, or null when it would not (or cannot tell). */
async function softwareGpu(name: BrowserBackend): Promise<string | null> {
  if (name === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ isFallbackAdapter?: boolean; info?: Record<string, string> } | null> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    if (!adapter) return null; // setBackend fails and says so
    const info = adapter.info ?? {};
    const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    if (adapter.isFallbackAdapter || SOFTWARE.test(text)) return `software adapter${text ? ` (${text})` : ''}`;
  }
  if (name === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    if (SOFTWARE.test(renderer)) return `software renderer (${renderer})`;
  }
  return null;
}

/** Sets the first backend of BACKEND_ORDER that initialises (or only `forced`). */
export async function chooseBackend(forced?: string | null): Promise<BackendChoice> {
  if (forced && !(BACKEND_ORDER as readonly string[]).includes(forced)) {
    throw new Error(`backend '${forced}' is not one of ${BACKEND_ORDER.join(', ')}: fix the ?backend= parameter`);
  }
  const order = forced ? [forced as BrowserBackend] : BACKEND_ORDER;
  const skipped: { name: string; short: string; long: string }[] = [];
  for (const name of order) {
    const software = forced ? null : await softwareGpu(name);
    if (software) {
      skipped.push({ name, short: 'software GPU', long: `${name}: ${software}` });
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch {
      ok = false;
    }
    if (ok && tf.getBackend() === name) {
      const why = forced ? ' (forced by ?backend=)' : skipped.length ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.short}`).join(', ')})` : '';
      return { name, line: `tfjs backend: ${name}${why}`, detail: skipped.map((s) => s.long).join('\n') };
    }
    skipped.push({ name, short: 'did not initialise', long: `${name}: did not initialise` });
  }
  throw new Error(`no tfjs backend initialised (tried ${order.join(', ')})`);
}
