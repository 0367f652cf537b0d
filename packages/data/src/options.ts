/**
 * Validation of @epg/data's options, one function per entry point, called first thing there: each bad
 * value gets its own one-line DataError naming the option, the value and the fix.
 */
import { DataError } from './types';

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function positiveInt(where: string, name: string, v: unknown, fix: string): void {
  if (!isInt(v) || v < 1) throw new DataError(`${where} ${name} must be an integer >= 1, got ${show(v)}: ${fix}`);
}

function probability(where: string, name: string, v: unknown, fix: string): void {
  if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new DataError(`${where} ${name} must be a probability in [0, 1], got ${show(v)}: ${fix}`);
}

export function checkChannels(where: string, channels: unknown): void {
  if (channels !== 1 && channels !== 3) throw new DataError(`${where} channels must be 1 (grey) or 3 (RGB), got ${show(channels)}: images are decoded to one of these`);
}

export function checkImageFolderOptions(opts: {
  readonly size?: unknown;
  readonly channels?: unknown;
  readonly concurrency?: unknown;
  readonly skipBad?: unknown;
  readonly extensions?: unknown;
}): void {
  const where = 'loadImageFolder';
  if (opts === null || typeof opts !== 'object') throw new DataError(`${where} needs options { size, ... }, got ${show(opts)}`);
  positiveInt(where, 'size', opts.size, 'give the output side length, e.g. 64');
  if (opts.channels !== undefined) checkChannels(where, opts.channels);
  if (opts.concurrency !== undefined) positiveInt(where, 'concurrency', opts.concurrency, 'use e.g. 4 (files decoded at once)');
  if (opts.skipBad !== undefined && typeof opts.skipBad !== 'boolean') throw new DataError(`${where} skipBad must be true or false, got ${show(opts.skipBad)}`);
  checkExtensions(where, opts.extensions);
}

export function checkExtensions(where: string, extensions: unknown): void {
  if (extensions === undefined) return;
  if (!Array.isArray(extensions) || extensions.length === 0 || !extensions.every((e) => typeof e === 'string' && /^\.[A-Za-z0-9]+$/.test(e))) {
    throw new DataError(`${where} extensions must be a non-empty list like ['.png', '.jpg'], got ${show(JSON.stringify(extensions))}`);
  }
}

export function checkLoaderOptions(opts: { readonly prefetch?: unknown; readonly prepare?: unknown; readonly dropLast?: unknown }): void {
  if (opts.prefetch !== undefined && !(isInt(opts.prefetch) && opts.prefetch >= 0)) {
    throw new DataError(`ImageLoader prefetch must be an integer >= 0, got ${show(opts.prefetch)}: use e.g. 2, or 0 to prepare batches on demand`);
  }
  if (typeof opts.prepare !== 'function') throw new DataError(`ImageLoader prepare must be a function (raw batch) => batch, got ${show(opts.prepare)}`);
  if (opts.dropLast !== undefined && typeof opts.dropLast !== 'boolean') throw new DataError(`ImageLoader dropLast must be true or false, got ${show(opts.dropLast)}`);
}

export function checkPrepareOptions(where: string, opts: { readonly numClasses?: unknown; readonly labelDropout?: unknown; readonly flipProb?: unknown }): void {
  if (opts === null || typeof opts !== 'object') throw new DataError(`${where} needs options { numClasses, ... }, got ${show(opts)}`);
  positiveInt(where, 'numClasses', opts.numClasses, 'give the number of real classes (the null label is numClasses)');
  if (opts.labelDropout !== undefined) probability(where, 'labelDropout', opts.labelDropout, 'use e.g. 0.1 for classifier-free guidance, or 0');
  if (opts.flipProb !== undefined) probability(where, 'flipProb', opts.flipProb, 'use 0.5 for random flips or 0 for none');
}
