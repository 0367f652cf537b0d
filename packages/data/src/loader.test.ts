import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak } from '@epg/tensor/testing';
import { defaultPairConfig } from './augment';
import { ImageLoader, parseLoaderState, type LoadedBatch, type RawBatch } from './loader';
import { pairPrepare, pairToTensors, plainPrepare, plainToTensors, type PairBatch } from './pipeline';
import { syntheticImageSet } from './synthetic';

const set = syntheticImageSet({ count: 10, size: 8, channels: 3, numClasses: 5, seed: 2 });
const indicesOf = (raw: RawBatch) => Array.from(raw.indices);

describe('ImageLoader', () => {
  it('visits every image once per epoch, reshuffled each epoch from the seed', async () => {
    const loader = new ImageLoader(set, { batchSize: 4, seed: 3, prepare: indicesOf, dropLast: false });
    expect(loader.batchesPerEpoch).toBe(3);
    const epochs: number[][] = [[], []];
    for (let k = 0; k < 6; k++) {
      const b = await loader.next();
      epochs[b.epoch].push(...b.batch);
      expect(b.batch.length).toBe(k % 3 === 2 ? 2 : 4);
    }
    for (const e of epochs) expect([...e].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epochs[0]).not.toEqual(epochs[1]);
    const again = new ImageLoader(set, { batchSize: 4, seed: 3, prepare: indicesOf, dropLast: false });
    expect((await again.next()).batch).toEqual(epochs[0].slice(0, 4));
    const other = new ImageLoader(set, { batchSize: 4, seed: 4, prepare: indicesOf, dropLast: false });
    expect((await other.next()).batch).not.toEqual(epochs[0].slice(0, 4));
  });

  it('drops the incomplete last batch by default', async () => {
    const loader = new ImageLoader(set, { batchSize: 4, seed: 3, prepare: indicesOf });
    expect(loader.batchesPerEpoch).toBe(2);
    const got = [];
    for (let k = 0; k < 4; k++) got.push(await loader.next());
    expect(got.map((b) => [b.epoch, b.position, b.batch.length])).toEqual([[0, 0, 4], [0, 4, 4], [1, 0, 4], [1, 4, 4]]);
  });

  it('resumes exactly from a JSON round-tripped state, across an epoch boundary, augmentations included', async () => {
    const prepare = pairPrepare(defaultPairConfig(8), { numClasses: 5, labelDropout: 0.3 });
    const opts = { batchSize: 3, seed: 11, prepare, prefetch: 3 };
    const a = new ImageLoader(set, opts);
    const straight: LoadedBatch<PairBatch>[] = [];
    for (let k = 0; k < 8; k++) straight.push(await a.next());
    // State after batch 2 (of 3 per epoch), saved as JSON while later batches were already prefetched.
    const saved = JSON.parse(JSON.stringify(straight[1].stateAfter));
    expect(saved).toEqual({ seed: 11, batchSize: 3, count: 10, epoch: 0, position: 6 });
    const b = new ImageLoader(set, { ...opts, resume: parseLoaderState(saved) });
    for (let k = 2; k < 8; k++) {
      const got = await b.next();
      expect([got.epoch, got.position]).toEqual([straight[k].epoch, straight[k].position]);
      expect(got.batch.view1).toEqual(straight[k].batch.view1);
      expect(got.batch.view2).toEqual(straight[k].batch.view2);
      expect(got.batch.x0).toEqual(straight[k].batch.x0);
      expect(got.batch.labels).toEqual(straight[k].batch.labels);
    }
    expect(b.state).toEqual(a.state);
    expect(() => new ImageLoader(set, { ...opts, seed: 12, resume: saved })).toThrow(/resume state is for seed 11/);
    expect(() => parseLoaderState({ seed: 1 })).toThrow(/must be an object with numeric/);
  });

  it('a sample gets the same augmentation whatever batch size it is loaded with', async () => {
    const prepare = pairPrepare(defaultPairConfig(8), { numClasses: 5 });
    const small = new ImageLoader(set, { batchSize: 2, seed: 5, prepare, dropLast: false });
    const big = new ImageLoader(set, { batchSize: 10, seed: 5, prepare });
    const whole = (await big.next()).batch;
    const first = (await small.next()).batch;
    expect(first.view1).toEqual(whole.view1.subarray(0, first.view1.length));
  });

  it('prepares batches ahead (async prefetch) while the consumer is busy', async () => {
    let prepared = 0;
    const loader = new ImageLoader(set, { batchSize: 2, seed: 1, prefetch: 2, prepare: (r) => (prepared++, r.count) });
    await loader.next();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(prepared).toBe(3); // the consumed batch plus two prefetched
    expect(loader.state).toMatchObject({ epoch: 0, position: 2 });
  });

  it('rejects bad options with messages naming them', () => {
    expect(() => new ImageLoader(set, { batchSize: 0, seed: 1, prepare: indicesOf })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new ImageLoader(set, { batchSize: 11, seed: 1, prepare: indicesOf })).toThrow(/batchSize 11 exceeds the set's 10 images/);
    expect(() => new ImageLoader(set, { batchSize: 2, seed: -1, prepare: indicesOf })).toThrow(/seed must be a non-negative integer/);
  });
});

describe('batches as tensors', () => {
  it('pairToTensors / plainToTensors give NHWC float32 tensors and int32 labels, no leaks', async () => {
    const loader = new ImageLoader(set, { batchSize: 4, seed: 1, prepare: pairPrepare(defaultPairConfig(8), { numClasses: 5, labelDropout: 1 }) });
    const plain = new ImageLoader(set, { batchSize: 4, seed: 1, prepare: plainPrepare('minus-one-one', { numClasses: 5 }) });
    const batch = (await loader.next()).batch;
    const pb = (await plain.next()).batch;
    await expectNoLeak(() => {
      for (let k = 0; k < 3; k++) {
        const t = pairToTensors(batch);
        expect(t.view1.shape).toEqual([4, 8, 8, 3]);
        expect(t.labels.dtype).toBe('int32');
        expect(Array.from(t.labels.dataSync())).toEqual([5, 5, 5, 5]); // dropout 1: all null labels
        tf.dispose([t.x0, t.view1, t.view2, t.labels]);
        const p = plainToTensors(pb);
        expect(p.x.shape).toEqual([4, 8, 8, 3]);
        tf.dispose([p.x, p.labels]);
      }
    }, 'batch → tensors');
  });
});

describe('ImageLoader errors', () => {
  it('a prepare that throws rejects next() for that batch only when it is consumed', async () => {
    const loader = new ImageLoader(set, {
      batchSize: 2, seed: 1, prefetch: 2,
      prepare: (r) => {
        if (r.position === 4) throw new Error('bad batch at 4');
        return r.position;
      },
    });
    expect((await loader.next()).batch).toBe(0);
    expect((await loader.next()).batch).toBe(2);
    await expect(loader.next()).rejects.toThrow('bad batch at 4');
  });
});
