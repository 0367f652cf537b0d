#!/usr/bin/env node
/**
 * Smoke run of the tensor core: choose a backend (one report line), fit a small linear regression
 * with AdamW + warm-up-free cosine-free constant LR for 300 steps while checking that the tensor count
 * stays flat, save a checkpoint and read it back bit-exactly. Exit 1 with one line on any failure.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../backend';
import { AdamW } from '../optim/adamw';
import { ParameterStore } from '../params';
import { RandomStream } from '../random';
import { normalTensor } from '../random-tensors';
import { trainStep } from '../train-step';
import { orThrow, readCheckpoint, restoreStore, saveCheckpoint } from '../checkpoint/checkpoint';

async function main(): Promise<void> {
  const report = await initBackend();
  const rs = RandomStream.derive(0, 0, 'smoke');
  const store = ParameterStore.create();
  store.scope('linear').add('weight', normalTensor(rs, [16, 1], 0, 0.1));
  store.scope('linear').add('bias', tf.zeros([1]));
  const x = normalTensor(rs, [256, 16]) as tf.Tensor2D;
  const trueW = normalTensor(rs, [16, 1]) as tf.Tensor2D;
  const y = tf.tidy(() => tf.add(tf.matMul(x, trueW), 0.5));
  const loss = () =>
    tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, store.get('linear.weight')), store.get('linear.bias')), y))) as tf.Scalar;
  const opt = new AdamW(store, { lr: 0.05, weightDecay: 0 });

  const t0 = performance.now();
  const startTensors = tf.memory().numTensors;
  let first = NaN;
  let last = NaN;
  for (let step = 0; step < 300; step++) {
    const r = trainStep(store, opt, loss);
    if (step === 0) first = r.loss;
    last = r.loss;
    if (step % 100 === 0 || step === 299) console.log(`step ${String(step).padStart(3)}  loss ${r.loss.toExponential(3)}`);
  }
  if (tf.memory().numTensors !== startTensors) throw new Error(`tensor leak: ${startTensors} -> ${tf.memory().numTensors}`);
  if (!(last < first * 1e-3)) throw new Error(`optimisation did not converge: loss ${first} -> ${last}`);
  const ms = performance.now() - t0;

  const dir = mkdtempSync(join(tmpdir(), 'epg-smoke-'));
  try {
    const base = join(dir, 'ckpt');
    orThrow(saveCheckpoint(base, { step: 300, config: { smoke: true }, stores: { model: store }, optimizer: opt }));
    const copy = store.clone();
    copy.get('linear.weight').assign(tf.zerosLike(copy.get('linear.weight')));
    orThrow(restoreStore(copy, orThrow(readCheckpoint(base)), 'model'));
    const same = tf.tidy(() => tf.all(tf.equal(copy.get('linear.weight'), store.get('linear.weight'))).dataSync()[0]);
    if (!same) throw new Error('checkpoint round trip changed the weights');
    copy.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `smoke ok: backend ${report.name}, loss ${first.toExponential(2)} -> ${last.toExponential(2)} in 300 AdamW steps (${ms.toFixed(0)} ms), ` +
      `tensor count flat, checkpoint round trip exact`,
  );
  opt.dispose();
  store.dispose();
  [x, trueW, y].forEach((t) => t.dispose());
}

main().catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
