/**
 * Run directories (docs/apps.md, "Run directory"):
 *
 *   <run>/config.json         the resolved config, written once when the run starts
 *   <run>/metrics.jsonl       one record per logged step (@epg/runs)
 *   <run>/checkpoints/<stage> checkpoint generations (@epg/tensor)
 *   <run>/samples/*.png       sample grids; <run>/curves/*.svg loss curves
 *   <run>/report.html|.md     the report (epg-eval report)
 *
 * A new run never writes into a directory that holds another run; a resumed run must find the same
 * config it was started with. Everything is checked before the first file is written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';
import { decodeRunConfig, type RunConfig } from './config';

export const CONFIG_FILE = 'config.json';

export function defaultRunDir(config: RunConfig): string {
  // Code variants add their unscoped package name without the pinned version.
  const plugins = config.plugins.map((p) => p.replace(/^@[^/]+\//, '').replace(/@.*$/, ''));
  const variants = [...config.variants, ...plugins].length > 0 ? `+${[...config.variants, ...plugins].join('+')}` : '';
  return join('runs', `${config.preset}${variants}-s${config.seed}`);
}

/** The writable ancestor that a new directory would be created in, or a Left naming the problem. */
function checkCreatable(dir: string): E.Either<EpgError, void> {
  let p = resolve(dir);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  try {
    if (!statSync(p).isDirectory()) return E.left(epgError('io', `run directory ${dir}: ${p} is a file, not a folder`, 'choose another --run'));
    accessSync(p, constants.W_OK);
  } catch {
    return E.left(epgError('io', `run directory ${dir} cannot be created: ${p} is not writable`, 'choose a writable --run'));
  }
  return E.right(undefined);
}

/**
 * Opens the run directory for a new run (must be absent or empty) or for `--resume` (must hold a
 * config.json equal to `config`, apart from the fields listed in `resumable`). Creates nothing
 * for a new run until `initRunDir`.
 */
export function checkRunDir(dir: string, config: RunConfig, resume: boolean): E.Either<EpgError, RunConfig> {
  const cfgPath = join(dir, CONFIG_FILE);
  if (!resume) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) return E.left(epgError('io', `run directory ${dir} is a file`, 'choose another --run'));
      if (readdirSync(dir).length > 0) {
        return E.left(epgError('io', `run directory ${dir} already holds files`, 'pass --resume to continue that run, or choose another --run'));
      }
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        return E.left(epgError('io', `run directory ${dir} is not writable`, 'choose a writable --run'));
      }
      return E.right(config);
    }
    const ok = checkCreatable(dir);
    return E.isLeft(ok) ? ok : E.right(config);
  }
  if (!existsSync(cfgPath)) {
    return E.left(epgError('io', `cannot resume ${dir}: it has no ${CONFIG_FILE}`, 'check --run, or start a new run without --resume'));
  }
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    return E.left(epgError('format', `cannot resume ${dir}: ${CONFIG_FILE} is not valid JSON (${(e as Error).message})`, 'restore it or start a new run'));
  }
  const decoded = decodeRunConfig(stored);
  if (E.isLeft(decoded)) return E.left(epgError('format', `cannot resume ${dir}: its ${CONFIG_FILE} is invalid (${decoded.left.message})`));
  const diff = configDiff(decoded.right, config);
  if (diff.length > 0) {
    return E.left(epgError('mismatch', `cannot resume ${dir}: the run was started with another config (${diff.slice(0, 3).join(', ')})`, 'resume with the same preset, variants and --set edits, or start a new run'));
  }
  return E.right(decoded.right);
}

/** Field paths whose values differ. */
export function configDiff(a: unknown, b: unknown, path = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path || '(config)'}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

/** Creates the directory layout and writes config.json (atomically) for a new run. */
export function initRunDir(dir: string, config: RunConfig): E.Either<EpgError, void> {
  const text = `${JSON.stringify(config, null, 2)}\n`; // serialise before touching any file
  try {
    for (const sub of ['', 'checkpoints', 'samples', 'curves']) mkdirSync(join(dir, sub), { recursive: true });
    const p = join(dir, CONFIG_FILE);
    writeFileSync(`${p}.tmp`, text);
    renameSync(`${p}.tmp`, p);
    return E.right(undefined);
  } catch (e) {
    return E.left(epgError('io', `cannot initialise run directory ${dir} (${(e as Error).message})`, 'check it is writable and the disk has space'));
  }
}
