// The name map on a training checkpoint written by torch.save (scripts/make_torch_checkpoint.py):
// @epg/tensor's readStateDict opens the .pth and picks the state dict; the name map loads it.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParameterStore, RandomStream, listCheckpoint, orThrow, readStateDict, readTorchCheckpoint } from '@epg/tensor';
import { expectClose } from '@epg/tensor/testing';
import { PRESETS } from './config';
import { buildFinetuneNetwork } from './model';
import { loadTorchStateDict } from './namemap';

const FIX = join(__dirname, '__fixtures__');
const PTH = join(FIX, 'micro_epg_checkpoint.pth');
/* eslint-disable @typescript-eslint/no-explicit-any */
const ref: any = JSON.parse(readFileSync(join(FIX, 'micro_ref.json'), 'utf8'));

describe('an EPG-style torch.save checkpoint loads through the name map', () => {
  it.each([
    ['ema', undefined],
    ['model', 'module.'],
  ])('select %s (strip %s): the network output equals the float64 reference', (select, stripPrefix) => {
    const store = ParameterStore.create();
    const net = buildFinetuneNetwork(store, PRESETS['test-micro'], { rng: RandomStream.fromSeed(9) });
    const report = loadTorchStateDict(store, orThrow(readStateDict(PTH, { select })), { stripPrefix });
    expect(report.missing).toEqual([]);
    expect(report.loaded.length).toBe(store.entries().length);
    tf.tidy(() => {
      const x = tf.tensor4d(ref.xNHWC, ref.inputShape);
      expectClose(net(x, Float64Array.from(ref.t), tf.tensor1d(ref.labels, 'int32')), ref.networkNHWC, { rtol: 1e-5, atol: 1e-5 });
    });
    store.dispose();
  });

  it('without select, the error lists the state dicts to choose from', () => {
    const r = readStateDict(PTH);
    expect(r._tag === 'Left' && r.left.message).toMatch(/several state_dicts.*select: 'model' \(\d+ tensors\), 'ema' \(\d+ tensors\)/);
    const paths = listCheckpoint(orThrow(readTorchCheckpoint(PTH))).map((e) => `${e.path}: ${e.what}`);
    expect(paths).toContain('epoch: number 3');
    expect(paths).toContain('args: argparse.Namespace (3 attributes)');
  });
});
