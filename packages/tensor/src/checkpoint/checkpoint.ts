/**
 * Checkpoints as generations. A checkpoint at base path `runs/x/ckpt` is a series of generations,
 * each one safetensors file of named float32 tensors (`model.*`, `ema.*`, `optimizer.m.*`, ...) and
 * its JSON sidecar (format, step, config, optimiser step, RNG state, the tensor file's SHA-256):
 *
 *   ckpt.g000007.safetensors   generation 7's tensors
 *   ckpt.g000007.json          generation 7's sidecar
 *   ckpt.json                  "latest": a copy of the newest complete generation's sidecar
 *
 * A save (1) validates and serialises everything (config, tensors, finiteness) before touching a
 * file, (2) writes the new generation under new names (temp file, fsync, rename, fsync folder),
 * (3) reads the tensors back and checks their hash, and only then (4) switches "latest" with one
 * atomic rename. The previous generation is never touched, so a crash at any moment (SIGKILL, power
 * loss after fsync, a full disk) leaves `ckpt.json` naming a complete, verified generation: the old
 * one or the new one. Older generations are then pruned by the retention policy (the latest N plus
 * periodic ones); temp files of killed saves are removed by the next save or load.
 *
 * Version 1 (a single `ckpt.safetensors` + `ckpt.json` pair) is still read: its sidecar names its
 * tensor file the same way (a first version-2 save leaves that file in place; delete it by hand).
 *
 * One writer per base path: two processes saving to the same base at once are not supported (each
 * keeps the other's temp files while it lives, but they would race for generation numbers).
 */
import * as E from 'fp-ts/Either';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ParameterStore } from '../params';
import type { AdamW, HostTensor } from '../optim/adamw';
import { toHost } from '../optim/adamw';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors } from './safetensors';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, type CheckpointSidecar, type LoadedCheckpoint } from './restore';

export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, restoreStore, restoreOptimizer } from './restore';
export type { CheckpointSidecar, LoadedCheckpoint, RestoreOptions } from './restore';

export interface SaveCheckpointInput {
  readonly step: number;
  readonly config: unknown;
  /** Stores saved under their section name: `{ model, ema }` → `model.<name>`, `ema.<name>`. */
  readonly stores: Record<string, ParameterStore>;
  readonly optimizer?: AdamW;
  readonly rng?: unknown;
  readonly extra?: unknown;
}

/**
 * The file operations a save or load performs, injectable so that tests can crash between any two
 * of them (see `nodeCheckpointFs` for the real ones). Each call is one step a crash can fall between.
 */
export interface CheckpointFs {
  /** Creates or truncates `path`, writes all of `bytes`, fsyncs and closes it. */
  writeFileSynced(path: string, bytes: Buffer): void;
  rename(from: string, to: string): void;
  /** fsync of a folder (after a rename); may be a no-op where the filesystem refuses it. */
  fsyncDir(dir: string): void;
  unlink(path: string): void;
  readFile(path: string): Buffer;
  readdir(dir: string): string[];
  /** 'file', 'dir', 'other' or undefined when nothing is there. */
  kind(path: string): 'file' | 'dir' | 'other' | undefined;
}

export const nodeCheckpointFs: CheckpointFs = {
  writeFileSynced(path, bytes) {
    const fd = nodeFs.openSync(path, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += nodeFs.writeSync(fd, bytes, off, bytes.length - off);
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  },
  rename: (from, to) => nodeFs.renameSync(from, to),
  fsyncDir(dir) {
    let fd: number | undefined;
    try {
      fd = nodeFs.openSync(dir, 'r');
      nodeFs.fsyncSync(fd);
    } catch {
      // Some filesystems refuse fsync on a directory; the rename is still atomic.
    } finally {
      if (fd !== undefined) nodeFs.closeSync(fd);
    }
  },
  unlink: (path) => nodeFs.rmSync(path, { force: true }),
  readFile: (path) => nodeFs.readFileSync(path),
  readdir: (dir) => nodeFs.readdirSync(dir),
  kind(path) {
    const st = nodeFs.statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  },
};

// ---------------------------------------------------------------------------------------------
// Test-only pause inside a save (off unless EPG_TEST_CHECKPOINT_PAUSE is set).

/** The moments of a save where `EPG_TEST_CHECKPOINT_PAUSE` can stop it, in the order a save reaches them. */
export const CHECKPOINT_PAUSE_PHASES = [
  /** Half the tensor file's bytes are in its temp file (fsynced); nothing renamed yet. */
  'tensors-partial',
  /** The generation's tensor file is complete and in place; its sidecar is not written. */
  'tensors-written',
  /** Half the generation sidecar's bytes are in its temp file. */
  'sidecar-partial',
  /** The generation's sidecar is in place; "latest" still names the previous generation. */
  'sidecar-written',
  /** Half of the new "latest" is in its temp file. */
  'latest-partial',
  /** "latest" names the new generation; old generations are not pruned yet. */
  'switched',
] as const;
export type CheckpointPausePhase = (typeof CHECKPOINT_PAUSE_PHASES)[number];

/**
 * For crash tests of whole programs (apps/train/src/kill.test.ts): `EPG_TEST_CHECKPOINT_PAUSE=<phase>[@<step>]`
 * makes the save of step `<step>` (default: the first save) stop forever at `<phase>`, after writing
 * `[epg-test] checkpoint paused at <phase>, step <step>` to stderr, so that a test can SIGKILL the
 * process at exactly that moment. Never set it outside tests: the process hangs there.
 */
function checkpointPause(step: number): CheckpointPausePhase | undefined {
  const spec = process.env.EPG_TEST_CHECKPOINT_PAUSE;
  if (!spec) return undefined;
  const [phase, at] = spec.split('@');
  if (!(CHECKPOINT_PAUSE_PHASES as readonly string[]).includes(phase)) {
    throw new Error(`EPG_TEST_CHECKPOINT_PAUSE=${spec}: phase must be one of ${CHECKPOINT_PAUSE_PHASES.join(', ')}`);
  }
  if (at !== undefined && !/^\d+$/.test(at)) throw new Error(`EPG_TEST_CHECKPOINT_PAUSE=${spec}: the step after '@' must be an integer >= 0`);
  if (at !== undefined ? Number(at) !== step : pausedOnce) return undefined;
  return phase as CheckpointPausePhase;
}
let pausedOnce = false;

function pauseForever(phase: CheckpointPausePhase, step: number): never {
  pausedOnce = true;
  process.stderr.write(`[epg-test] checkpoint paused at ${phase}, step ${step}\n`);
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** `fs` with a pause in the middle of writing `target`'s temp file (the first half written and fsynced). */
function pausingFs(fs: CheckpointFs, target: () => string | undefined, phase: CheckpointPausePhase, step: number): CheckpointFs {
  return {
    ...fs,
    writeFileSynced(path, bytes) {
      const t = target();
      if (t !== undefined && path.startsWith(`${t}.`) && path.endsWith('.tmp')) {
        fs.writeFileSynced(path, bytes.subarray(0, bytes.length >> 1));
        pauseForever(phase, step);
      }
      fs.writeFileSynced(path, bytes);
    },
  };
}

export interface SaveOptions {
  /** Complete generations kept besides periodic ones, the new one included (default 2, at least 1). */
  readonly keepLast?: number;
  /** Also keep every generation whose step is a multiple of this (off when undefined). */
  readonly keepEvery?: number;
  /** Read the new tensor file back and check its SHA-256 before switching "latest" (default true). */
  readonly verify?: boolean;
  /** File operations (tests inject crashes here). */
  readonly fs?: CheckpointFs;
}

export interface ReadOptions {
  /** Read this generation instead of the latest (see listCheckpointGenerations). */
  readonly generation?: number;
  readonly fs?: CheckpointFs;
}

/** Paths of the "latest" pointer of base path `base` (e.g. `runs/x/ckpt`), and of a version-1 tensor file. */
export function checkpointPaths(base: string): { tensors: string; sidecar: string } {
  return { tensors: `${base}.safetensors`, sidecar: `${base}.json` };
}

/** Paths of generation `g` of `base`. */
export function generationPaths(base: string, g: number): { tensors: string; sidecar: string } {
  const id = String(g).padStart(6, '0');
  return { tensors: `${base}.g${id}.safetensors`, sidecar: `${base}.g${id}.json` };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Writes bytes to `path` atomically: temp file in the same folder, fsync, rename, fsync folder. */
export function writeFileAtomic(path: string, bytes: Buffer | string, fs: CheckpointFs = nodeCheckpointFs): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  try {
    fs.writeFileSynced(tmp, b);
    fs.rename(tmp, path);
  } catch (e) {
    try {
      fs.unlink(tmp);
    } catch {
      // The original error is the one to report; a leftover temp file is removed by the next save.
    }
    throw e;
  }
  fs.fsyncDir(dirname(path));
}

/** Collects the tensors of a checkpoint as host arrays, keyed by their file names. */
export function collectTensors(input: SaveCheckpointInput): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [section, store] of Object.entries(input.stores)) {
    if (section === 'optimizer') throw new CheckpointError('config', `checkpoint store name 'optimizer' is reserved for the optimiser's state: rename that section`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(section)) throw new CheckpointError('config', `checkpoint store name '${section}' is not an identifier: use e.g. 'model' or 'ema'`);
    for (const e of store.entries()) out[`${section}.${e.name.slice(store.prefix.length)}`] = toHost(e.variable);
  }
  if (input.optimizer) {
    for (const [k, v] of Object.entries(input.optimizer.getState().tensors)) out[`optimizer.${k}`] = v;
  }
  return out;
}

/** The first tensor holding NaN or ±Infinity, with its first bad value and index. */
function firstNonFinite(tensors: Iterable<[string, { data: ArrayLike<number> }]>): { name: string; index: number; value: number } | undefined {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      // x - x is 0 for finite x and NaN for NaN/±Infinity: one comparison per value.
      if (d[i] - d[i] !== 0) return { name, index: i, value: d[i] };
    }
  }
  return undefined;
}

// Duck-typed: errors from another realm (jest's vm, worker threads) fail `instanceof Error`.
const errMsg = (e: unknown) => {
  const m = (e as { message?: unknown } | null)?.message;
  return (typeof m === 'string' ? m : String(e)).replace(/\s*\n\s*/g, ' ');
};

/** Temp files of this base left by saves whose process is gone (or by this process: saves are synchronous). */
function removeStaleTemps(base: string, fs: CheckpointFs): number {
  const dir = dirname(base);
  const re = new RegExp(`^${escapeRe(basename(base))}\\.(?:g\\d+\\.(?:safetensors|json)|json)\\.(\\d+)\\.tmp$`);
  let removed = 0;
  for (const f of fs.readdir(dir)) {
    const m = re.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue; // another live process is saving there
    fs.unlink(join(dir, f));
    removed++;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface GenerationFiles {
  readonly generation: number;
  tensors: boolean;
  sidecar: boolean;
}

function scanGenerations(base: string, fs: CheckpointFs): GenerationFiles[] {
  const re = new RegExp(`^${escapeRe(basename(base))}\\.g(\\d+)\\.(safetensors|json)$`);
  const byGen = new Map<number, GenerationFiles>();
  for (const f of fs.readdir(dirname(base))) {
    const m = re.exec(f);
    if (!m) continue;
    const g = Number(m[1]);
    const entry = byGen.get(g) ?? { generation: g, tensors: false, sidecar: false };
    if (m[2] === 'json') entry.sidecar = true;
    else entry.tensors = true;
    byGen.set(g, entry);
  }
  return [...byGen.values()].sort((a, b) => a.generation - b.generation);
}

function validateSaveOptions(opts: SaveOptions): CheckpointError | undefined {
  const keepLast = opts.keepLast ?? 2;
  if (!Number.isInteger(keepLast) || keepLast < 1) {
    return new CheckpointError('config', `saveCheckpoint keepLast must be an integer >= 1 (the new generation counts), got ${keepLast}`);
  }
  if (opts.keepEvery !== undefined && !(Number.isInteger(opts.keepEvery) && opts.keepEvery >= 1)) {
    return new CheckpointError('config', `saveCheckpoint keepEvery must be a whole number of steps >= 1, got ${opts.keepEvery}`);
  }
  return undefined;
}

/**
 * Saves a new generation of the checkpoint at `base` and makes it the latest. Never throws: Left is a
 * CheckpointError of kind 'config' (unserialisable config, bad options), 'numeric' (a non-finite
 * weight or moment: the checkpoint is refused) or 'io' (the write failed; the previous generation
 * still loads).
 */
export function saveCheckpoint(base: string, input: SaveCheckpointInput, opts: SaveOptions = {}): E.Either<CheckpointError, CheckpointSidecar> {
  let pause: CheckpointPausePhase | undefined;
  try {
    pause = checkpointPause(input.step);
  } catch (e) {
    return E.left(new CheckpointError('config', errMsg(e)));
  }
  let pauseTarget: string | undefined;
  const pauseAt = (phase: CheckpointPausePhase) => {
    if (pause === phase) pauseForever(phase, input.step);
  };
  const baseFs = opts.fs ?? nodeCheckpointFs;
  const fs = pause?.endsWith('-partial') ? pausingFs(baseFs, () => pauseTarget, pause, input.step) : baseFs;
  const badOpt = validateSaveOptions(opts);
  if (badOpt) return E.left(badOpt);
  if (!Number.isSafeInteger(input.step) || input.step < 0) {
    return E.left(new CheckpointError('config', `checkpoint step must be an integer >= 0, got ${input.step}`));
  }
  // 1. Everything that can fail without IO, before touching a file.
  let tensors: Record<string, HostTensor>;
  let bytes: Buffer;
  try {
    tensors = collectTensors(input);
    const bad = firstNonFinite(Object.entries(tensors));
    if (bad) {
      return E.left(
        new CheckpointError(
          'numeric',
          `refusing to save checkpoint ${base} at step ${input.step}: tensor '${bad.name}' holds ${bad.value} at index ${bad.index}; the run diverged: resume from the previous checkpoint with a lower learning rate`,
        ),
      );
    }
    bytes = encodeSafetensors(tensors, { format: 'pt', producer: 'epg-ts' });
  } catch (e) {
    if (e instanceof CheckpointError) return E.left(e);
    return E.left(new CheckpointError('config', `could not serialise checkpoint ${base}: ${errMsg(e)}`, { cause: e }));
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const extras = {
    ...(input.optimizer ? { optimizer: { type: 'adamw' as const, step: input.optimizer.step } } : {}),
    ...(input.rng !== undefined ? { rng: input.rng } : {}),
    ...(input.extra !== undefined ? { extra: input.extra } : {}),
  };
  const sidecarOf = (generation: number): CheckpointSidecar => ({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: input.step,
    generation,
    config: input.config,
    ...extras,
    tensors: { file: basename(generationPaths(base, generation).tensors), sha256, count: Object.keys(tensors).length },
  });
  let probe: string;
  try {
    probe = JSON.stringify(sidecarOf(0), null, 2);
  } catch (e) {
    return E.left(
      new CheckpointError('config', `checkpoint ${base}: config, rng or extra is not JSON-serialisable (${errMsg(e)}): pass plain numbers, strings, arrays and objects without cycles`, { cause: e }),
    );
  }
  if (JSON.parse(probe).config === undefined && input.config !== undefined) {
    return E.left(new CheckpointError('config', `checkpoint ${base}: config ${typeof input.config} does not survive JSON: pass a plain object`));
  }

  // 2. The new generation, under names no complete generation uses.
  let stage = 'listing the checkpoint folder';
  try {
    removeStaleTemps(base, fs);
    const existing = scanGenerations(base, fs);
    const latest = readSidecarOnly(checkpointPaths(base).sidecar, fs);
    const generation = Math.max(0, ...existing.map((g) => g.generation), E.isRight(latest) ? (latest.right.generation ?? 0) : 0) + 1;
    const paths = generationPaths(base, generation);
    const sidecar = sidecarOf(generation);
    const json = JSON.stringify(sidecar, null, 2) + '\n';
    stage = `writing ${paths.tensors}`;
    if (pause === 'tensors-partial') pauseTarget = paths.tensors;
    writeFileAtomic(paths.tensors, bytes, fs);
    if (opts.verify ?? true) {
      stage = `verifying ${paths.tensors}`;
      const back = fs.readFile(paths.tensors);
      if (back.length !== bytes.length || createHash('sha256').update(back).digest('hex') !== sha256) {
        throw new Error('the file read back differs from what was written (disk or filesystem fault)');
      }
    }
    pauseAt('tensors-written');
    stage = `writing ${paths.sidecar}`;
    if (pause === 'sidecar-partial') pauseTarget = paths.sidecar;
    writeFileAtomic(paths.sidecar, json, fs);
    pauseAt('sidecar-written');
    // 3. The one atomic switch.
    stage = `switching ${checkpointPaths(base).sidecar} to generation ${generation}`;
    if (pause === 'latest-partial') pauseTarget = checkpointPaths(base).sidecar;
    writeFileAtomic(checkpointPaths(base).sidecar, json, fs);
    pauseAt('switched');
    // 4. Retention. A failure here leaves extra files, never a broken checkpoint.
    stage = 'pruning old generations';
    prune(base, generation, opts, fs);
    return E.right(sidecar);
  } catch (e) {
    return E.left(
      new CheckpointError('io', `could not save checkpoint ${base} (${stage}): ${errMsg(e)}; the previous checkpoint is untouched: free space or fix the folder and save again`, {
        cause: e,
      }),
    );
  }
}

/** Deletes generations outside the policy, and incomplete ones (a tensor file or sidecar alone). */
function prune(base: string, current: number, opts: SaveOptions, fs: CheckpointFs): void {
  const keepLast = opts.keepLast ?? 2;
  const gens = scanGenerations(base, fs);
  const complete = gens.filter((g) => g.tensors && g.sidecar).map((g) => g.generation);
  const keep = new Set<number>([current, ...complete.filter((g) => g <= current).slice(-keepLast)]);
  if (opts.keepEvery !== undefined) {
    for (const g of complete) {
      const sc = readSidecarOnly(generationPaths(base, g).sidecar, fs);
      if (E.isRight(sc) && sc.right.step % opts.keepEvery === 0) keep.add(g);
    }
  }
  for (const g of gens) {
    if (keep.has(g.generation)) continue;
    const p = generationPaths(base, g.generation);
    // Sidecar first: a crash in between leaves a lone tensor file, which the next prune removes.
    if (g.sidecar) fs.unlink(p.sidecar);
    if (g.tensors) fs.unlink(p.tensors);
  }
}

/** Generations of `base` that have both files, oldest first, with their step (sidecar not validated against tensors). */
export function listCheckpointGenerations(
  base: string,
  fs: CheckpointFs = nodeCheckpointFs,
): E.Either<CheckpointError, Array<{ generation: number; step: number }>> {
  try {
    const out: Array<{ generation: number; step: number }> = [];
    for (const g of scanGenerations(base, fs)) {
      if (!g.tensors || !g.sidecar) continue;
      const sc = readSidecarOnly(generationPaths(base, g.generation).sidecar, fs);
      if (E.isRight(sc)) out.push({ generation: g.generation, step: sc.right.step });
    }
    return E.right(out);
  } catch (e) {
    return E.left(new CheckpointError('io', `could not list checkpoint generations of ${base}: ${errMsg(e)}`, { cause: e }));
  }
}


const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isNonNegInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Reads and structurally validates a sidecar; never throws. */
function readSidecarOnly(path: string, fs: CheckpointFs): E.Either<CheckpointError, CheckpointSidecar> {
  try {
    const k = fs.kind(path);
    if (k === undefined) return E.left(new CheckpointError('io', `checkpoint file ${path} does not exist: check the path (give it without the extension)`));
    if (k !== 'file') return E.left(new CheckpointError('io', `checkpoint sidecar ${path} is a ${k === 'dir' ? 'folder' : 'special file'}, not a file: give the checkpoint's base path`));
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFile(path).toString('utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code) throw e;
      return E.left(new CheckpointError('format', `checkpoint sidecar ${path} is not valid JSON (truncated?): use the previous checkpoint`));
    }
    const bad = (what: string) => E.left(new CheckpointError('format', `checkpoint sidecar ${path} is corrupt: ${what}: use the previous checkpoint`));
    if (!isObj(raw) || raw.format !== CHECKPOINT_FORMAT) {
      return E.left(
        new CheckpointError('format', `${path} is not an epg-ts checkpoint sidecar (format field is ${JSON.stringify(isObj(raw) ? raw.format : raw)?.slice(0, 40)})`),
      );
    }
    if (!isNonNegInt(raw.version) || raw.version < 1) return bad(`version ${JSON.stringify(raw.version)} is not a positive integer`);
    if (raw.version > CHECKPOINT_VERSION) {
      return E.left(new CheckpointError('mismatch', `${path} has format version ${raw.version}; this epg-ts reads up to ${CHECKPOINT_VERSION}: upgrade @epg/tensor`));
    }
    if (!isNonNegInt(raw.step)) return bad(`step ${JSON.stringify(raw.step)} is not an integer >= 0`);
    if (raw.generation !== undefined && !isNonNegInt(raw.generation)) return bad(`generation ${JSON.stringify(raw.generation)} is not an integer >= 0`);
    const t = raw.tensors;
    if (!isObj(t)) return bad(`its 'tensors' entry is ${JSON.stringify(t) ?? 'missing'}, expected {file, sha256, count}`);
    if (typeof t.file !== 'string' || t.file === '' || t.file !== basename(t.file) || t.file === '..' || t.file === '.') {
      return bad(`'tensors.file' must be a file name in the sidecar's folder, got ${JSON.stringify(t.file)}`);
    }
    if (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) return bad(`'tensors.sha256' is not a SHA-256 hex digest`);
    if (!isNonNegInt(t.count)) return bad(`'tensors.count' ${JSON.stringify(t.count)} is not an integer >= 0`);
    const o = raw.optimizer;
    if (o !== undefined && !(isObj(o) && o.type === 'adamw' && isNonNegInt(o.step))) {
      return bad(`'optimizer' is ${JSON.stringify(o)?.slice(0, 60)}, expected {type: 'adamw', step}`);
    }
    return E.right(raw as unknown as CheckpointSidecar);
  } catch (e) {
    return E.left(new CheckpointError('io', `could not read checkpoint sidecar ${path}: ${errMsg(e)}`, { cause: e }));
  }
}

/**
 * Reads and validates the latest generation of a checkpoint (or `opts.generation`) without touching
 * any model: the sidecar's structure, the tensor file's hash, count and layout, and that every float
 * is finite. Never throws. Removes temp files left by killed saves of this base.
 */
export function readCheckpoint(base: string, opts: ReadOptions = {}): E.Either<CheckpointError, LoadedCheckpoint> {
  const fs = opts.fs ?? nodeCheckpointFs;
  try {
    try {
      removeStaleTemps(base, fs);
    } catch {
      // Cleaning is best effort; a read-only folder must still load.
    }
    const sidecarPath = opts.generation === undefined ? checkpointPaths(base).sidecar : generationPaths(base, opts.generation).sidecar;
    const sc = readSidecarOnly(sidecarPath, fs);
    if (E.isLeft(sc)) return sc;
    const sidecar = sc.right;
    const tensorsPath = join(dirname(sidecarPath), sidecar.tensors.file);
    const k = fs.kind(tensorsPath);
    if (k === undefined) {
      return E.left(new CheckpointError('io', `checkpoint tensors ${tensorsPath} named by ${sidecarPath} do not exist: the checkpoint was moved in part or deleted; use another generation`));
    }
    if (k !== 'file') return E.left(new CheckpointError('io', `checkpoint tensors ${tensorsPath} is a ${k === 'dir' ? 'folder' : 'special file'}, not a file: remove it and use another generation`));
    const bytes = fs.readFile(tensorsPath);
    // Layout first (it names what is wrong with a damaged file), then the hash (a valid file of another save).
    const decoded = decodeSafetensors(bytes, tensorsPath);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== sidecar.tensors.sha256) {
      return E.left(
        new CheckpointError('format', `${tensorsPath} does not match its sidecar ${sidecarPath} (SHA-256 differs): an interrupted save or a mixed-up pair; use the previous generation`),
      );
    }
    if (decoded.tensors.size !== sidecar.tensors.count) {
      return E.left(new CheckpointError('format', `${tensorsPath} holds ${decoded.tensors.size} tensors but ${sidecarPath} says ${sidecar.tensors.count}: a mixed-up pair`));
    }
    const floats = [...decoded.tensors].filter(([, t]) => t.data instanceof Float32Array || t.data instanceof Float64Array);
    const bad = firstNonFinite(floats);
    if (bad) {
      return E.left(
        new CheckpointError('numeric', `checkpoint ${tensorsPath}: tensor '${bad.name}' holds ${bad.value} at index ${bad.index}; it was saved from a diverged run: use an earlier generation`),
      );
    }
    return E.right({ base, sidecar, tensors: decoded.tensors });
  } catch (e) {
    if (e instanceof CheckpointFormatError) return E.left(new CheckpointError('format', e.message, { cause: e }));
    return E.left(new CheckpointError('io', `could not read checkpoint ${base}: ${errMsg(e)}`, { cause: e }));
  }
}


export { orThrow } from '../errors';
