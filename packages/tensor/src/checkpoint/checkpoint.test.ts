import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParameterStore } from '../params';
import { AdamW } from '../optim/adamw';
import { RandomStream } from '../random';
import { normalTensor } from '../random-tensors';
import { trainStep } from '../train-step';
import {
  checkpointPaths,
  listCheckpointGenerations,
  orThrow,
  readCheckpoint,
  restoreOptimizer,
  restoreStore,
  saveCheckpoint,
  writeFileAtomic,
} from './checkpoint';
import { encodeSafetensors } from './safetensors';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'epg-ckpt-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function model(seed: number, width = 3): ParameterStore {
  const rs = RandomStream.fromSeed(seed);
  const s = ParameterStore.create();
  s.scope('enc').add('w', normalTensor(rs, [4, width]));
  s.scope('enc').add('b', normalTensor(rs, [width]));
  s.scope('bn').addBuffer('running_mean', normalTensor(rs, [width]));
  return s;
}

function lossOf(s: ParameterStore, x: tf.Tensor2D): () => tf.Scalar {
  return () => tf.mean(tf.square(tf.add(tf.matMul(x, s.get('enc.w')), s.get('enc.b')))) as tf.Scalar;
}

/** The tensor file the latest sidecar of `base` names. */
const tensorsFile = (base: string) => join(dir, JSON.parse(readFileSync(checkpointPaths(base).sidecar, 'utf8')).tensors.file);

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

describe('checkpoints', () => {
  it('round-trip bit-exactly, optimiser state included: resumed training equals uninterrupted training', () => {
    const x = tf.tidy(() => normalTensor(RandomStream.fromSeed(9), [8, 4]) as tf.Tensor2D);
    const a = model(1);
    const optA = new AdamW(a, { lr: 0.01, weightDecay: 0.05 });
    for (let i = 0; i < 3; i++) trainStep(a, optA, lossOf(a, x));
    const base = join(dir, 'ckpt-000003');
    orThrow(saveCheckpoint(base, { step: 3, config: { model: 'toy' }, stores: { model: a }, optimizer: optA, rng: { seed: 7 } }));

    const b = model(2); // different initial values
    const optB = new AdamW(b, { lr: 0.01, weightDecay: 0.05 });
    const ck = orThrow(readCheckpoint(base));
    expect(ck.sidecar.step).toBe(3);
    expect(ck.sidecar.rng).toEqual({ seed: 7 });
    orThrow(restoreStore(b, ck, 'model'));
    orThrow(restoreOptimizer(optB, ck));
    for (const n of a.names()) expect(bits(b.get(n))).toEqual(bits(a.get(n)));
    expect(optB.step).toBe(3);
    const sa = optA.getState();
    const sb = optB.getState();
    for (const k of Object.keys(sa.tensors)) {
      expect(Array.from(new Uint32Array(sb.tensors[k].data.buffer))).toEqual(Array.from(new Uint32Array(sa.tensors[k].data.buffer)));
    }
    // Continue both: identical bits.
    for (let i = 0; i < 3; i++) {
      trainStep(a, optA, lossOf(a, x));
      trainStep(b, optB, lossOf(b, x));
    }
    for (const n of a.names()) expect(bits(b.get(n))).toEqual(bits(a.get(n)));
    [a, b].forEach((s) => s.dispose());
    [optA, optB].forEach((o) => o.dispose());
    x.dispose();
  });

  it('writes a generation and a latest pointer, never a temp file left; keeps the latest N and periodic ones', () => {
    const s = model(1);
    const base = join(dir, 'c');
    const first = orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    expect(first.generation).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['c.g000001.json', 'c.g000001.safetensors', 'c.json']);
    for (let step = 2; step <= 6; step++) orThrow(saveCheckpoint(base, { step, config: {}, stores: { model: s } }, { keepLast: 2, keepEvery: 3 }));
    // Latest two (steps 5, 6) plus the periodic step 3; generation = save count.
    expect(readdirSync(dir).sort()).toEqual([
      'c.g000003.json',
      'c.g000003.safetensors',
      'c.g000005.json',
      'c.g000005.safetensors',
      'c.g000006.json',
      'c.g000006.safetensors',
      'c.json',
    ]);
    expect(orThrow(listCheckpointGenerations(base))).toEqual([
      { generation: 3, step: 3 },
      { generation: 5, step: 5 },
      { generation: 6, step: 6 },
    ]);
    expect(orThrow(readCheckpoint(base)).sidecar.step).toBe(6);
    expect(orThrow(readCheckpoint(base, { generation: 3 })).sidecar.step).toBe(3);
    const bad = saveCheckpoint(base, { step: 7, config: {}, stores: { model: s } }, { keepLast: 0 });
    expect(E.isLeft(bad) && bad.left.message).toMatch(/keepLast must be an integer >= 1/);
    s.dispose();
  });

  it('still reads a version-1 pair (<base>.safetensors + <base>.json)', () => {
    const s = model(1);
    const base = join(dir, 'old');
    const tensors = { 'model.enc.w': { shape: [4, 3], data: Float32Array.from(s.get('enc.w').dataSync()) } };
    const bytes = encodeSafetensors(tensors, { format: 'pt' });
    writeFileSync(`${base}.safetensors`, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(`${base}.json`, JSON.stringify({ format: 'epg-checkpoint', version: 1, step: 4, config: {}, tensors: { file: 'old.safetensors', sha256, count: 1 } }));
    const ck = orThrow(readCheckpoint(base));
    expect(ck.sidecar.step).toBe(4);
    const read = tf.tensor(ck.tensors.get('model.enc.w')!.data as Float32Array);
    expect(bits(read)).toEqual(bits(s.get('enc.w')));
    read.dispose();
    s.dispose();
  });

  it('rejects a truncated tensor file, naming the file and the tensor', () => {
    const s = model(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    const p = tensorsFile(base);
    const full = readFileSync(p);
    writeFileSync(p, full.subarray(0, full.length - 10));
    const r = readCheckpoint(base);
    expect(E.isLeft(r) && r.left.message).toMatch(/c\.g000001\.safetensors is truncated: tensor 'model\.bn\.running_mean'/);
    writeFileSync(p, full.subarray(0, 5));
    const r2 = readCheckpoint(base);
    expect(E.isLeft(r2) && r2.left.message).toMatch(/truncated/);
    s.dispose();
  });

  it('rejects a file with an unknown name, a missing name, and a wrong shape, each with its own message', () => {
    const s = model(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    const ck = orThrow(readCheckpoint(base));

    const extra = ParameterStore.create(); // lacks bn.running_mean → the file has a name it does not know
    extra.scope('enc').add('w', tf.zeros([4, 3]));
    extra.scope('enc').add('b', tf.zeros([3]));
    const r1 = restoreStore(extra, ck, 'model');
    expect(E.isLeft(r1) && r1.left.message).toMatch(/has tensor 'model\.bn\.running_mean', which the model does not have/);
    // ...unless the caller allows it (e.g. a dropped projector): then it loads.
    expect(E.isRight(restoreStore(extra, ck, 'model', { allowUnknown: (n) => n.startsWith('bn.') }))).toBe(true);

    const more = model(3);
    more.scope('dec').add('w', tf.zeros([2]));
    const r2 = restoreStore(more, ck, 'model');
    expect(E.isLeft(r2) && r2.left.message).toMatch(/is missing tensor 'model\.dec\.w'/);

    const wide = model(4, 5);
    const before = bits(wide.get('enc.w'));
    const r3 = restoreStore(wide, ck, 'model');
    expect(E.isLeft(r3) && r3.left.message).toMatch(/tensor 'model\.enc\.w' has shape \[4,3\] but the model expects \[4,5\]/);
    expect(bits(wide.get('enc.w'))).toEqual(before); // nothing half-loaded
    [s, extra, more, wide].forEach((x) => x.dispose());
  });

  it('rejects a corrupt header, a sidecar that does not match its tensors, and a missing file', () => {
    const s = model(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    const p = tensorsFile(base);
    const good = readFileSync(p);
    const bad = Buffer.from(good);
    bad.write('#', 9); // break the JSON
    writeFileSync(p, bad);
    const r1 = readCheckpoint(base);
    expect(E.isLeft(r1) && r1.left.message).toMatch(/corrupt: its JSON header does not parse/);
    // A valid tensor file from another save paired with this sidecar.
    writeFileSync(p, encodeSafetensors({ 'model.enc.w': { shape: [1], data: new Float32Array([1]) } }));
    const r2 = readCheckpoint(base);
    expect(E.isLeft(r2) && r2.left.message).toMatch(/does not match its sidecar/);
    const r3 = readCheckpoint(join(dir, 'nope'));
    expect(E.isLeft(r3) && r3.left.message).toMatch(/nope\.json does not exist/);
    expect(existsSync(join(dir, 'nope.json'))).toBe(false);
    s.dispose();
  });

  it('restoring optimiser state of another model fails with the moment named', () => {
    const s = model(1);
    const opt = new AdamW(s, { lr: 0.1 });
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 0, config: {}, stores: { model: s }, optimizer: opt }));
    const other = ParameterStore.create();
    other.add('z', tf.zeros([2]));
    const optO = new AdamW(other, { lr: 0.1 });
    const r = restoreOptimizer(optO, orThrow(readCheckpoint(base)));
    expect(E.isLeft(r) && r.left.message).toMatch(/optimizer state has 'm\.enc\.w'/);
    [s, other].forEach((x) => x.dispose());
    [opt, optO].forEach((x) => x.dispose());
  });

  it('writeFileAtomic replaces content', () => {
    const p = join(dir, 'f.txt');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, 'two');
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['f.txt']);
    // A failed write (a folder sits at the temp path) keeps the previous content.
    mkdirSync(`${p}.${process.pid}.tmp`);
    expect(() => writeFileAtomic(p, 'three')).toThrow();
    expect(readFileSync(p, 'utf8')).toBe('two');
  });
});
