import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { expectClose, expectNoLeak } from '@epg/tensor/testing';
import { attention, batchNorm1d, embed, gelu, layerNorm, patchify, timestepEmbedding, unpatchify } from './layers';
import { buildPretrainModel, encoderBlock } from './model';
import { PRESETS } from './config';

/* eslint-disable @typescript-eslint/no-explicit-any */
const fx: any = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'layers.json'), 'utf8'));

// Tolerance of the issue: float32 tfjs vs a float64 numpy reference on fixed weights.
const TOL = { rtol: 1e-5, atol: 1e-5 };

describe('layers vs numpy float64 (scripts/make_fixtures.py)', () => {
  it('LayerNorm (ε 1e-5, biased variance, affine)', () => {
    const f = fx.layerNorm;
    tf.tidy(() => expectClose(layerNorm(tf.tensor(f.x, f.shape), tf.tensor1d(f.weight), tf.tensor1d(f.bias)), f.y, TOL));
  });

  it('exact erf GELU', () => {
    tf.tidy(() => expectClose(gelu(tf.tensor1d(fx.gelu.x)), fx.gelu.y, TOL));
  });

  it('multi-head attention (qkv without bias, proj with bias)', () => {
    const f = fx.attention;
    const D = f.shape[2];
    tf.tidy(() => {
      const y = attention(tf.tensor3d(f.x, f.shape), {
        qkv: tf.tensor2d(f.qkv, [D, 3 * D]),
        proj: tf.tensor2d(f.proj, [D, D]),
        projBias: tf.tensor1d(f.projBias),
      }, f.heads);
      expectClose(y, f.y, TOL);
    });
  });

  it('BatchNorm1d: train mode (batch stats, running update with unbiased variance) and eval mode', () => {
    const f = fx.batchNorm;
    // tidy disposes the initial values (a variable keeps its own tensor).
    const [rm, rv] = tf.tidy(() => [tf.variable(tf.tensor1d(f.runningMean), false), tf.variable(tf.tensor1d(f.runningVar), false)]);
    const state = { weight: tf.tensor1d(f.weight), bias: tf.tensor1d(f.bias), runningMean: rm, runningVar: rv };
    tf.tidy(() => expectClose(batchNorm1d(tf.tensor2d(f.x, f.shape), state, false), f.yEval, TOL));
    expectClose(rm, f.runningMean, { rtol: 0, atol: 0 });
    tf.tidy(() => expectClose(batchNorm1d(tf.tensor2d(f.x, f.shape), state, true), f.yTrain, TOL));
    expectClose(rm, f.newRunningMean, TOL);
    expectClose(rv, f.newRunningVar, TOL);
    expect(() => tf.tidy(() => batchNorm1d(tf.zeros([1, 4]) as tf.Tensor2D, state, true))).toThrow(/at least 2/);
    // relu in the op equals relu after it, in both modes
    for (const training of [false, true]) {
      tf.tidy(() => {
        const x = tf.tensor2d(f.x, f.shape);
        const fused = batchNorm1d(x, state, training, { relu: true });
        const after = tf.relu(batchNorm1d(x, state, training));
        expectClose(fused, after, { rtol: 1e-6, atol: 1e-6 });
        expect(fused.min().dataSync()[0]).toBe(0); // the fixture has negative pre-activations
      });
    }
    [rm, rv, state.weight, state.bias].forEach((t) => t.dispose());
  });

  it('one whole pre-LN encoder block', () => {
    const f = fx.encoderBlock;
    const cfg = { ...PRESETS['test-micro'], encoder: { depth: 1, width: 8, heads: f.heads } };
    const store = ParameterStore.create();
    buildPretrainModel(store, cfg, { rng: RandomStream.fromSeed(0) });
    for (const [k, v] of Object.entries(f.weights as Record<string, number[]>)) {
      const variable = store.get(`blocks.0.${k}`);
      tf.tidy(() => variable.assign(tf.tensor(v, variable.shape)));
    }
    tf.tidy(() => expectClose(encoderBlock(store, 'blocks.0', tf.tensor3d(f.x, f.shape), f.heads), f.y, TOL));
    store.dispose();
  });

  it('sinusoidal time embedding (cos first), arguments in float64', () => {
    const f = fx.timeEmbedding;
    expectClose(timestepEmbedding(f.t, f.dim), f.y, TOL);
  });
});

describe('patchify / unpatchify / embed', () => {
  it('patchify·W equals Conv2d(kernel = stride = p) with the kernel stored (kh, kw, C, D)', () => {
    const rs = RandomStream.fromSeed(3);
    const [B, H, C, p, D] = [2, 8, 3, 4, 5];
    tf.tidy(() => {
      const x = tf.tensor4d(rs.fillNormal(new Float32Array(B * H * H * C)), [B, H, H, C]);
      const k = tf.tensor4d(rs.fillNormal(new Float32Array(p * p * C * D)), [p, p, C, D]);
      const conv = tf.conv2d(x, k, p, 'valid').reshape([B * (H / p) * (H / p), D]);
      expectClose(tf.matMul(patchify(x, p), k.reshape([p * p * C, D])), conv, { rtol: 1e-5, atol: 1e-5 });
    });
  });

  it('unpatchify inverts patchify exactly; patch vectors are (p_row, p_col, channel)', () => {
    tf.tidy(() => {
      const x = tf.range(0, 2 * 4 * 4 * 2).reshape([2, 4, 4, 2]) as tf.Tensor4D;
      const rows = patchify(x, 2);
      // First patch of image 0: pixels (0,0),(0,1),(1,0),(1,1), two channels each.
      expect(Array.from(rows.slice([0, 0], [1, 8]).dataSync())).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
      // Second patch is to the right (row-major grid).
      expect(rows.slice([1, 0], [1, 1]).dataSync()[0]).toBe(4);
      expectClose(unpatchify(rows, 2, 4, 2, 2), x, { rtol: 0, atol: 0 });
    });
  });

  it('embed (one-hot × matMul) equals a table lookup and rejects bad ids', async () => {
    await expectNoLeak(() =>
      tf.tidy(() => {
        const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
        expectClose(embed(tf.tensor1d([2, 0, 2], 'int32'), table), [5, 6, 1, 2, 5, 6], { rtol: 0, atol: 0 });
        expect(() => embed(tf.tensor1d([3], 'int32'), table)).toThrow(/label 3 at position 0 is outside \[0, 2\]/);
      }),
    );
  });

  it('embed has a gradient for the table (wasm lacks the gather gradient)', () => {
    tf.tidy(() => {
      const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(embed(tf.tensor1d([2, 0, 2], 'int32'), t as tf.Tensor2D)))(table);
      expectClose(g, [1, 1, 0, 0, 2, 2], { rtol: 0, atol: 0 });
    });
  });
});
