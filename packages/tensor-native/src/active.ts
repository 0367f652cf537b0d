/**
 * Whether native kernels are registered, kept apart from register.ts (which loads the addon with
 * node:fs): the fused ops read only this flag, so they and the browser entry (browser.ts) import no
 * Node module. register.ts sets it.
 */
import * as tf from '@tensorflow/tfjs-core';

let registered = false;

/** Called by register.ts when the native kernels are registered (true) or removed (false). */
export function setNativeKernelsRegistered(value: boolean): void {
  registered = value;
}

/** True when native kernels are registered and the active backend is 'cpu'. */
export function nativeKernelsActive(): boolean {
  return registered && tf.getBackend() === 'cpu';
}
