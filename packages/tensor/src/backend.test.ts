import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, backendReport, initBackend } from './backend';

describe('backend choice', () => {
  it('runs the backend the test run asked for', () => {
    expect(tf.getBackend()).toBe(process.env.EPG_BACKEND || 'cpu');
    expect(backendReport()?.reason).toMatch(/forced/);
    // EPG_NATIVE=0 (the 'cpu-stock' test run) keeps tfjs's stock kernels.
    if (process.env.EPG_NATIVE === '0') expect(backendReport()?.native.active).toBe(false);
  });

  it('explains in one line why a forced native backend cannot load', async () => {
    const lines: string[] = [];
    await expect(initBackend({ force: 'tensorflow', log: (l) => lines.push(l) })).rejects.toThrow(BackendError);
    const err = await initBackend({ force: 'tensorflow', log: null }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^EPG_BACKEND=tensorflow cannot load \(node-gpu: .*; node: .*\)/);
    expect((err as Error).message).not.toContain('\n');
    expect(lines).toEqual([]);
    // The engine still runs the backend it had.
    expect(tf.getBackend()).toBe(process.env.EPG_BACKEND || 'cpu');
  });

  it('rejects an unknown name, listing the valid ones', async () => {
    await expect(initBackend({ force: 'tpu', log: null })).rejects.toThrow(/EPG_BACKEND=tpu is not a backend: use one of .*wasm, cpu/);
  });

  it('chooses automatically and reports the skipped native backends', async () => {
    const lines: string[] = [];
    const r = await initBackend({ force: '', log: (l) => lines.push(l) });
    expect(['node-gpu', 'node', 'wasm', 'cpu']).toContain(r.name);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[epg\] tfjs backend: /);
    await initBackend({ force: process.env.EPG_BACKEND || 'cpu', log: null }); // restore for later tests
  });

  it('the smoke CLI exits non-zero with one line when EPG_BACKEND=tensorflow cannot load', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli', 'smoke.ts')], {
      env: { ...process.env, EPG_BACKEND: 'tensorflow' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: EPG_BACKEND=tensorflow cannot load/);
  });

  it.each([
    ['EPG_NATIVE_CONV', 'fft', /^error: EPG_NATIVE_CONV=fft is not a convolution algorithm: use winograd or im2col/],
    ['EPG_NATIVE_THREADS', 'x', /^error: EPG_NATIVE_THREADS=x is not a thread count/],
    ['EPG_NATIVE_POOL_MB', '-3', /^error: EPG_NATIVE_POOL_MB=-3 is not a size/],
  ])('a bad %s (%s) is one line and exit 1, also without the addon', (name, value, line) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli', 'smoke.ts')], {
      env: { ...process.env, EPG_BACKEND: '', [name]: value },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(line);
  });
});
