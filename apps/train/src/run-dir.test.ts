import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { PRESETS } from './presets';
import { checkRunDir, configDiff, defaultRunDir, initRunDir } from './run-dir';
import { applyPatch } from './config';

const base = PRESETS['mnist-quick'];
const tmp = () => mkdtempSync(join(tmpdir(), 'epg-rundir-'));
const msg = (r: E.Either<{ message: string }, unknown>) => (E.isLeft(r) ? r.left.message : 'ok');

describe('run directory', () => {
  it('names the default directory after preset, variants and seed', () => {
    expect(defaultRunDir(base)).toBe(join('runs', 'mnist-quick-s0'));
    expect(defaultRunDir({ ...base, variants: ['scratch', 'no-aux-loss'], seed: 3 })).toBe(join('runs', 'mnist-quick+scratch+no-aux-loss-s3'));
  });

  it('a new run needs an absent or empty directory, and touches nothing when refused', () => {
    const d = tmp();
    expect(msg(checkRunDir(join(d, 'a', 'b'), base, false))).toBe('ok');
    writeFileSync(join(d, 'x.txt'), 'other run');
    expect(msg(checkRunDir(d, base, false))).toMatch(/already holds files: pass --resume to continue that run, or choose another --run/);
    expect(readdirSync(d)).toEqual(['x.txt']);
  });

  // Root writes everywhere, so permission bits cannot refuse it (CI runs as root).
  (process.getuid?.() === 0 ? it.skip : it)('an unwritable parent is refused before anything is created', () => {
    const d = tmp();
    chmodSync(d, 0o500);
    expect(msg(checkRunDir(join(d, 'run'), base, false))).toMatch(/cannot be created: .* is not writable/);
  });

  it('a parent that is a file is refused before anything is created', () => {
    const d = tmp();
    writeFileSync(join(d, 'f'), '');
    expect(msg(checkRunDir(join(d, 'f', 'run'), base, false))).toMatch(/run directory .*f\/run: .*f is a file, not a folder: choose another --run/);
    expect(readdirSync(d)).toEqual(['f']);
  });

  it('resume needs the same config; differences are named', () => {
    const d = tmp();
    expect(msg(checkRunDir(d, base, true))).toMatch(/cannot resume .*: it has no config.json/);
    expect(E.isRight(initRunDir(d, base))).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['checkpoints', 'config.json', 'curves', 'samples']);
    expect(msg(checkRunDir(d, base, true))).toBe('ok');
    const other = applyPatch(base, { pretrain: { steps: 999 } });
    expect(msg(checkRunDir(d, other, true))).toMatch(/started with another config \(pretrain.steps: 300 → 999\)/);
    writeFileSync(join(d, 'config.json'), '{"seed": ');
    expect(msg(checkRunDir(d, base, true))).toMatch(/config.json is not valid JSON/);
  });

  it('configDiff lists leaf paths', () => {
    expect(configDiff({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 }, d: null })).toEqual(['b.c: 2 → 3', 'd: undefined → null']);
  });

  it('initRunDir reports an unwritable location as a Left', () => {
    const d = tmp();
    mkdirSync(join(d, 'file-parent'));
    writeFileSync(join(d, 'file-parent', 'f'), '');
    expect(msg(initRunDir(join(d, 'file-parent', 'f', 'run'), base))).toMatch(/cannot initialise run directory/);
  });
});
