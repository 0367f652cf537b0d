/**
 * The backend for in-process training tests. With @epg/tensor-native's kernels (OpenBLAS) the cpu
 * backend is fastest; without them (a machine without OpenBLAS, or EPG_NATIVE=0) tfjs's stock cpu
 * kernels are ~20× slower and the training tests would pass jest's 60 s limit, so they run on wasm
 * (~3–5× slower than native here). Resume stays bitwise exact: wasm is deterministic too.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeKernelsActive } from '@epg/tensor';

/** Call at the top of a test file, after @epg/tensor/jest-setup chose EPG_BACKEND (default cpu). */
export function useTrainingBackend(): void {
  beforeAll(async () => {
    if (tf.getBackend() === 'cpu' && !nativeKernelsActive()) {
      await initBackend({ force: 'wasm', log: null });
      console.log('native cpu kernels are off: the training tests of this file run on wasm');
    }
  });
}
