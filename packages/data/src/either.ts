/**
 * fp-ts views of the IO entry points, for callers that treat data errors as values
 * (STYLE principle 10): a DataError on the left, anything else is rethrown as a bug.
 */
import * as E from 'fp-ts/Either';
import * as TE from 'fp-ts/TaskEither';
import { loadImageFolder, type ImageFolderOptions, type LoadedImageFolder } from './image-io';
import { loadFashionMnist, loadMnist } from './mnist';
import { readNpz } from './npz';
import { DataError, type ImageSet, type NpyArray } from './types';

function dataErrorOrThrow(e: unknown): DataError {
  if (e instanceof DataError) return e;
  throw e;
}

export const readNpzE = (path: string): E.Either<DataError, Map<string, NpyArray>> => E.tryCatch(() => readNpz(path), dataErrorOrThrow);

export const loadMnistE = (split: 'train' | 'test'): E.Either<DataError, ImageSet> => E.tryCatch(() => loadMnist(split), dataErrorOrThrow);

export const loadFashionMnistE = (split: 'train' | 'test'): E.Either<DataError, ImageSet> => E.tryCatch(() => loadFashionMnist(split), dataErrorOrThrow);

export const loadImageFolderTE = (root: string, opts: ImageFolderOptions): TE.TaskEither<DataError, LoadedImageFolder> =>
  TE.tryCatch(() => loadImageFolder(root, opts), dataErrorOrThrow);
