/**
 * One entry point for weights files of either format: safetensors, or a `torch.save` file (.pth,
 * .pt, .bin). The format is told by the file's first bytes, not its name.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { epgError, type EpgError } from '../errors';
import { CheckpointFormatError, decodeSafetensors, type NamedHostTensor } from '../checkpoint/safetensors';
import { decodeTorchCheckpoint, torchStateDict, type StateDictOptions } from './torch-checkpoint';

export type WeightsFormat = 'safetensors' | 'torch';

/** 'torch' for a zip (torch.save ≥ 1.6) or a legacy pickle / tar (refused later, with its own message), else 'safetensors'. */
export function sniffWeightsFormat(buf: Buffer): WeightsFormat {
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'torch';
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) return 'torch';
  if (buf.length >= 262 && buf.toString('latin1', 257, 262) === 'ustar') return 'torch';
  return 'safetensors';
}

/** The state_dict held by `buf` (either format); `select` picks it inside a nested torch checkpoint. Never throws. */
export function decodeStateDict(buf: Buffer, label: string, opts: StateDictOptions = {}): E.Either<EpgError, Map<string, NamedHostTensor>> {
  if (sniffWeightsFormat(buf) === 'torch') return pipe(decodeTorchCheckpoint(buf, label), E.chain((ck) => torchStateDict(ck, opts)));
  if (opts.select !== undefined) return E.left(epgError('config', `${label} is a safetensors file, which has no nested layout to select '${opts.select}' from`, 'drop select'));
  try {
    return E.right(new Map(decodeSafetensors(buf, label).tensors));
  } catch (e) {
    if (e instanceof CheckpointFormatError) return E.left(epgError('format', `${e.message} (read as safetensors; a torch.save file starts with a zip header)`));
    throw e;
  }
}

/**
 * Reads a weights file: safetensors or `torch.save` (.pth / .pt / .bin), e.g.
 * `readStateDict('pt_inception-2015-12-05-6726825d.pth')` or `readStateDict('checkpoint-799.pth', { select: 'model' })`.
 * Never throws: a missing file is an 'io' EpgError, a malformed one 'format', a bad `select` 'config'.
 */
export function readStateDict(path: string, opts: StateDictOptions = {}): E.Either<EpgError, Map<string, NamedHostTensor>> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    return E.left(epgError('io', `cannot read weights file ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path'));
  }
  return decodeStateDict(buf, path, opts);
}
