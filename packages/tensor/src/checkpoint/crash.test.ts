// Crash safety of checkpoints: a crash injected before every file operation of a save (and in the
// middle of every file write), a full disk, an unserialisable config, non-finite weights, and
// readers that never throw. The SIGKILL test over real processes is scripts/crash-test.ts.
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEpgError } from '../errors';
import { ParameterStore } from '../params';
import { AdamW } from '../optim/adamw';
import { checkpointPaths, nodeCheckpointFs, orThrow, readCheckpoint, restoreStore, saveCheckpoint, type CheckpointFs } from './checkpoint';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'epg-crash-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

class Crash extends Error {}

/**
 * The real file operations until operation number `at`, which crashes (a write leaves half its
 * bytes, unsynced, as a killed process would); every later operation crashes too, so no cleanup
 * code of the dying save reaches the disk.
 */
function crashingFs(at: number): CheckpointFs & { ops: string[]; crashed: boolean } {
  const ops: string[] = [];
  const state = { crashed: false };
  const step = (name: string, path: string) => {
    if (state.crashed) throw new Crash('dead');
    ops.push(`${name} ${path.slice(dir.length + 1)}`);
    if (ops.length - 1 === at) {
      state.crashed = true;
      return true;
    }
    return false;
  };
  const fs: CheckpointFs = {
    writeFileSynced(path, bytes) {
      if (step('write', path)) {
        writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
        throw new Crash(`killed while writing ${path}`);
      }
      nodeCheckpointFs.writeFileSynced(path, bytes);
    },
    rename(from, to) {
      if (step('rename', `${from} -> ${to}`)) throw new Crash('killed');
      nodeCheckpointFs.rename(from, to);
    },
    fsyncDir(d) {
      if (step('fsyncDir', `${d}/.`)) throw new Crash('killed');
      nodeCheckpointFs.fsyncDir(d);
    },
    unlink(path) {
      if (step('unlink', path)) throw new Crash('killed');
      nodeCheckpointFs.unlink(path);
    },
    readFile(path) {
      if (step('read', path)) throw new Crash('killed');
      return nodeCheckpointFs.readFile(path);
    },
    readdir(d) {
      if (step('readdir', `${d}/.`)) throw new Crash('killed');
      return nodeCheckpointFs.readdir(d);
    },
    kind(path) {
      if (step('stat', path)) throw new Crash('killed');
      return nodeCheckpointFs.kind(path);
    },
  };
  Object.defineProperty(fs, 'crashed', { get: () => state.crashed });
  return Object.assign(fs, { ops }) as CheckpointFs & { ops: string[]; crashed: boolean };
}

function storeWith(value: number, n = 64): ParameterStore {
  const s = ParameterStore.create();
  s.add('w', tf.fill([n, 4], value));
  s.add('b', tf.fill([4], -value));
  return s;
}

const valueOf = (base: string) => {
  const ck = orThrow(readCheckpoint(base));
  return { step: ck.sidecar.step, w: ck.tensors.get('model.w')!.data[0], b: ck.tensors.get('model.b')!.data[0] };
};
const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('a crash at any point of a save', () => {
  it('leaves a latest checkpoint that loads and equals the previous or the new state; the next save removes every temp file', () => {
    const old = storeWith(1);
    const next = storeWith(2);
    const base = join(dir, 'c');
    // How many operations a save over two existing generations takes (with pruning).
    const setup = () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      orThrow(saveCheckpoint(base, { step: 10, config: { v: 1 }, stores: { model: old } }));
      orThrow(saveCheckpoint(base, { step: 11, config: { v: 1 }, stores: { model: old } }));
    };
    setup();
    const probe = crashingFs(Number.MAX_SAFE_INTEGER);
    orThrow(saveCheckpoint(base, { step: 12, config: { v: 2 }, stores: { model: next } }, { fs: probe }));
    const total = probe.ops.length;
    if (process.env.EPG_PRINT) console.log(`a save over two generations: ${total} file operations\n${probe.ops.join('\n')}`);
    // write, rename, fsyncDir for three files, a read-back, listings, stats and two unlinks at least.
    expect(total).toBeGreaterThanOrEqual(14);
    expect(probe.ops.filter((o) => o.startsWith('rename')).map((o) => o.split(' -> ')[1].slice(dir.length + 1))).toEqual(['c.g000003.safetensors', 'c.g000003.json', 'c.json']);

    const outcomes = { previous: 0, next: 0 };
    for (let at = 0; at < total; at++) {
      setup();
      const fs = crashingFs(at);
      const r = saveCheckpoint(base, { step: 12, config: { v: 2 }, stores: { model: next } }, { fs });
      expect(fs.crashed).toBe(true);
      // Whatever the crash point, "latest" loads and is one of the two states, never a mix.
      const v = valueOf(base);
      if (v.step === 11) {
        expect(v).toEqual({ step: 11, w: 1, b: -1 });
        expect(E.isLeft(r)).toBe(true);
        outcomes.previous++;
      } else {
        expect(v).toEqual({ step: 12, w: 2, b: -2 });
        outcomes.next++;
      }
      // The next save cleans every temp file of the killed one, and loads.
      orThrow(saveCheckpoint(base, { step: 13, config: { v: 3 }, stores: { model: next } }));
      expect(temps()).toEqual([]);
      expect(valueOf(base).step).toBe(13);
      // Nothing but complete generations and the pointer remain (the default keeps two).
      expect(readdirSync(dir).length).toBeLessThanOrEqual(5);
    }
    // Crashes before the switch keep the previous state, after it the new one.
    expect(outcomes.previous).toBeGreaterThan(5);
    expect(outcomes.next).toBeGreaterThan(0);
    old.dispose();
    next.dispose();
  });

  it('a load removes temp files of dead processes, and keeps those of a live one', () => {
    const s = storeWith(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    // A pid that is certainly gone: a child that has exited.
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    writeFileSync(join(dir, `c.g000002.safetensors.${dead}.tmp`), 'partial');
    writeFileSync(join(dir, `c.json.${dead}.tmp`), 'partial');
    writeFileSync(join(dir, `c.json.${process.ppid}.tmp`), 'a live process is saving');
    writeFileSync(join(dir, `other.json.${dead}.tmp`), 'not ours');
    orThrow(readCheckpoint(base));
    expect(temps().sort()).toEqual([`c.json.${process.ppid}.tmp`, `other.json.${dead}.tmp`]);
    s.dispose();
  });
});

describe('a save that cannot complete leaves the previous checkpoint loadable', () => {
  it('an unserialisable config (BigInt, a cycle) is refused before any file is touched', () => {
    const s = storeWith(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: { a: 1 }, stores: { model: s } }));
    const before = readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const config of [{ big: 10n }, cyclic]) {
      const other = storeWith(3);
      const r = saveCheckpoint(base, { step: 2, config, stores: { model: other } });
      other.dispose();
      expect(E.isLeft(r) && r.left.kind).toBe('config');
      expect(E.isLeft(r) && r.left.message).toMatch(/^checkpoint .*c: config, rng or extra is not JSON-serialisable \(.*\): pass plain numbers/);
    }
    const rng = saveCheckpoint(base, { step: 2, config: {}, rng: { state: 1n }, stores: { model: s } });
    expect(E.isLeft(rng)).toBe(true);
    expect(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')])).toEqual(before);
    expect(valueOf(base)).toEqual({ step: 1, w: 1, b: -1 });
    s.dispose();
  });

  it('non-finite weights or moments are refused at save time, and a non-finite file is refused at load', () => {
    const s = storeWith(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    tf.tidy(() => s.get('b').assign(tf.tensor([0, 0, NaN, 0])));
    const r = saveCheckpoint(base, { step: 2, config: {}, stores: { model: s } });
    expect(E.isLeft(r) && r.left.kind).toBe('numeric');
    expect(E.isLeft(r) && r.left.message).toMatch(/refusing to save checkpoint .* at step 2: tensor 'model\.b' holds NaN at index 2; the run diverged/);
    tf.tidy(() => s.get('b').assign(tf.zeros([4])));
    const opt = new AdamW(s, { lr: 0.1 });
    opt.setState({ step: 1, tensors: { 'm.w': { dtype: 'float32', shape: [64, 4], data: new Float32Array(256) }, 'm.b': { dtype: 'float32', shape: [4], data: new Float32Array(4) }, 'v.w': { dtype: 'float32', shape: [64, 4], data: new Float32Array(256).fill(Infinity) }, 'v.b': { dtype: 'float32', shape: [4], data: new Float32Array(4) } } });
    const r2 = saveCheckpoint(base, { step: 2, config: {}, stores: { model: s }, optimizer: opt });
    expect(E.isLeft(r2) && r2.left.message).toMatch(/tensor 'optimizer\.v\.w' holds Infinity/);
    expect(valueOf(base)).toEqual({ step: 1, w: 1, b: -1 });
    expect(readdirSync(dir).sort()).toEqual(['c.g000001.json', 'c.g000001.safetensors', 'c.json']);
    opt.dispose();
    s.dispose();
  });

  const canMount = (() => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
    const probe = mkdtempSync(join(tmpdir(), 'epg-mnt-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  })();
  if (!canMount) console.warn('skipping the disk-full checkpoint test: mounting a tmpfs needs root on Linux');
  (canMount ? it : it.skip)('a full disk (a 1 MiB tmpfs) fails the save with an io error; the previous checkpoint loads, no temp file stays', () => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    const small = storeWith(1, 16); // a few hundred bytes
    const big = storeWith(2, 48 * 1024); // 768 KiB: fits once, not next to a second copy
    try {
      const base = join(mnt, 'c');
      orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: small } }));
      orThrow(saveCheckpoint(base, { step: 2, config: {}, stores: { model: big } }));
      const r = saveCheckpoint(base, { step: 3, config: {}, stores: { model: big } });
      expect(E.isLeft(r) && r.left.kind).toBe('io');
      expect(E.isLeft(r) && r.left.message).toMatch(/could not save checkpoint .*c \(writing .*c\.g000003\.safetensors\): ENOSPC.*the previous checkpoint is untouched/);
      const ck = orThrow(readCheckpoint(base));
      expect(ck.sidecar.step).toBe(2);
      expect(ck.tensors.get('model.w')!.data[0]).toBe(2);
      expect(readdirSync(mnt).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      small.dispose();
      big.dispose();
      execFileSync('umount', [mnt]);
    }
  });
});

describe('readCheckpoint never throws', () => {
  function saved(): string {
    const s = storeWith(1);
    const base = join(dir, 'c');
    orThrow(saveCheckpoint(base, { step: 1, config: {}, stores: { model: s } }));
    s.dispose();
    return base;
  }
  const sidecarOf = (base: string) => JSON.parse(readFileSync(checkpointPaths(base).sidecar, 'utf8'));
  const withSidecar = (base: string, edit: (sc: Record<string, unknown>) => unknown) => {
    const sc = sidecarOf(base);
    writeFileSync(checkpointPaths(base).sidecar, JSON.stringify(edit(sc)));
  };
  const leftOf = (base: string) => {
    let r: ReturnType<typeof readCheckpoint> | undefined;
    expect(() => (r = readCheckpoint(base))).not.toThrow();
    expect(E.isLeft(r!)).toBe(true);
    const err = (r as E.Left<Error>).left;
    expect(isEpgError(err)).toBe(true);
    expect(err.message).not.toMatch(/\n/);
    return err.message;
  };

  it.each([
    ['a null tensors entry', (sc: Record<string, unknown>) => ({ ...sc, tensors: null }), /'tensors' entry is null, expected \{file, sha256, count\}/],
    ['no tensors entry', (sc: Record<string, unknown>) => ({ ...sc, tensors: undefined }), /'tensors' entry is missing/],
    ['a null sidecar', () => null, /is not an epg-ts checkpoint sidecar/],
    ['an array sidecar', () => [1], /is not an epg-ts checkpoint sidecar/],
    ['a tensors file outside the folder', (sc: Record<string, unknown>) => ({ ...sc, tensors: { ...(sc.tensors as object), file: '../x.safetensors' } }), /must be a file name in the sidecar's folder/],
    ['a bad hash', (sc: Record<string, unknown>) => ({ ...sc, tensors: { ...(sc.tensors as object), sha256: 42 } }), /'tensors\.sha256' is not a SHA-256/],
    ['a bad count', (sc: Record<string, unknown>) => ({ ...sc, tensors: { ...(sc.tensors as object), count: 3 } }), /holds 2 tensors but .*c\.json says 3: a mixed-up pair/],
    ['a negative step', (sc: Record<string, unknown>) => ({ ...sc, step: -1 }), /step -1 is not an integer >= 0/],
    ['a future version', (sc: Record<string, unknown>) => ({ ...sc, version: 99 }), /format version 99; this epg-ts reads up to 2: upgrade/],
    ['a bad optimizer entry', (sc: Record<string, unknown>) => ({ ...sc, optimizer: { type: 'sgd' } }), /'optimizer' is .*expected \{type: 'adamw', step\}/],
  ])('a sidecar with %s is a Left naming the problem', (_what, edit, message) => {
    const base = saved();
    withSidecar(base, edit);
    expect(leftOf(base)).toMatch(message);
  });

  it('a sidecar without its tensors file, a tensors path that is a folder, a sidecar that is a folder', () => {
    const base = saved();
    const tensors = join(dir, sidecarOf(base).tensors.file);
    rmSync(tensors);
    expect(leftOf(base)).toMatch(/checkpoint tensors .*c\.g000001\.safetensors named by .*c\.json do not exist/);
    mkdirSync(tensors);
    expect(leftOf(base)).toMatch(/c\.g000001\.safetensors is a folder, not a file/);
    const other = join(dir, 'd');
    mkdirSync(`${other}.json`);
    expect(leftOf(other)).toMatch(/checkpoint sidecar .*d\.json is a folder, not a file/);
    writeFileSync(checkpointPaths(base).sidecar, '{"format": "epg-chec');
    expect(leftOf(base)).toMatch(/is not valid JSON \(truncated\?\)/);
  });

  it('restores nothing from a Left: the Either chain stops at the first problem', () => {
    const base = saved();
    withSidecar(base, (sc) => ({ ...sc, tensors: null }));
    const s = storeWith(5);
    const r = E.chain((ck: Parameters<typeof restoreStore>[1]) => restoreStore(s, ck, 'model'))(readCheckpoint(base));
    expect(E.isLeft(r)).toBe(true);
    expect(s.get('w').dataSync()[0]).toBe(5);
    s.dispose();
  });
});
