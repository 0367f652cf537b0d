/**
 * Metrics of a run as JSON Lines: one object per record `{ "phase": …, "step": …, <name>: number }`.
 * Appending one line is the only write, so a crash loses at most the line being written; the reader
 * skips a torn last line and reports any other bad line with its number. On resume the trainer calls
 * `truncateAfter(step)` so records of steps after the restored checkpoint are not duplicated.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';

export interface MetricRecord {
  /** Which stage wrote it: 'pretrain', 'finetune', 'eval', … */
  readonly phase: string;
  /** The optimiser step the values belong to. */
  readonly step: number;
  /** Named values (loss terms, lr, images/s, FID …). */
  readonly values: Readonly<Record<string, number>>;
}

/** Serialises one record as a line; non-finite values are written as null (JSON has no NaN). */
export function formatRecord(r: MetricRecord): string {
  if (!r.phase || !Number.isSafeInteger(r.step) || r.step < 0) {
    throw new RangeError(`metric record needs a phase and a step >= 0, got phase '${r.phase}' step ${r.step}`);
  }
  const obj: Record<string, unknown> = { phase: r.phase, step: r.step };
  for (const [k, v] of Object.entries(r.values)) {
    if (k === 'phase' || k === 'step') throw new RangeError(`metric name '${k}' is reserved`);
    obj[k] = Number.isFinite(v) ? v : null;
  }
  return JSON.stringify(obj);
}

export function appendRecord(path: string, r: MetricRecord): void {
  appendFileSync(path, `${formatRecord(r)}\n`);
}

/**
 * Reads every record; never throws. A missing file is an empty log; a torn last line is dropped. A log
 * archived gzip-compressed as `<path>.gz` (a study's records) is read when `<path>` itself is absent.
 */
export function readRecords(path: string): E.Either<EpgError, MetricRecord[]> {
  let text: string;
  try {
    if (existsSync(path)) text = readFileSync(path, 'utf8');
    else if (existsSync(`${path}.gz`)) text = gunzipSync(readFileSync(`${path}.gz`)).toString('utf8');
    else return E.right([]);
  } catch (e) {
    return E.left(epgError('io', `cannot read metrics log ${path} (${(e as Error).message})`, 'check the run directory'));
  }
  const lines = text.split('\n');
  const torn = !text.endsWith('\n') && lines.length > 0;
  const out: MetricRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      if (torn && i === lines.length - 1) break; // the line being written when a run was killed
      return E.left(epgError('format', `metrics log ${path} line ${i + 1} is not JSON`, 'delete that line or the file'));
    }
    const rec = obj as Record<string, unknown>;
    if (typeof obj !== 'object' || obj === null || typeof rec.phase !== 'string' || !Number.isSafeInteger(rec.step)) {
      return E.left(epgError('format', `metrics log ${path} line ${i + 1} lacks a phase and an integer step`, 'delete that line or the file'));
    }
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'phase' || k === 'step') continue;
      if (v === null) values[k] = NaN;
      else if (typeof v === 'number') values[k] = v;
    }
    out.push({ phase: rec.phase, step: rec.step as number, values });
  }
  return E.right(out);
}

/**
 * Drops the records of `phase` with step > `step` (a resumed run repeats them), atomically: the kept
 * lines go to a temporary file that replaces the log by rename.
 */
export function truncateAfter(path: string, phase: string, step: number): E.Either<EpgError, number> {
  const all = readRecords(path);
  if (E.isLeft(all)) return all;
  const kept = all.right.filter((r) => r.phase !== phase || r.step <= step);
  const dropped = all.right.length - kept.length;
  if (dropped === 0 && existsSync(path) && readFileSync(path, 'utf8').endsWith('\n')) return E.right(0);
  try {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, kept.map((r) => `${formatRecord(r)}\n`).join(''));
    renameSync(tmp, path);
  } catch (e) {
    return E.left(epgError('io', `cannot rewrite metrics log ${path} (${(e as Error).message})`, 'check the run directory is writable'));
  }
  return E.right(dropped);
}
