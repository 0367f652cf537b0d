/**
 * The one error model of epg-ts (docs/architecture.md, "Errors").
 *
 * - A problem the user can fix (a bad option or config value, a missing or corrupt file, a checkpoint
 *   of another model, a wrong shape at an API boundary) is an `EpgError`: a tagged error whose message
 *   is one line naming the thing, the bad value and the fix.
 * - IO and config boundaries return it as a value: `Either<EpgError, A>` (sync) or
 *   `TaskEither<EpgError, A>` (async). Those functions never throw; anything else they meet is a bug
 *   and is rethrown by `toEpgError`.
 * - Inside numeric code and for programmer errors (calling a function with arguments that break its
 *   documented contract), plain throws are fine; `orThrow` turns a Left into a throw for scripts.
 */
import * as E from 'fp-ts/Either';

/** What kind of thing went wrong: lets callers branch without parsing messages. */
export type EpgErrorKind =
  /** An option or config value out of range or of the wrong type. */
  | 'config'
  /** A file or folder that is missing, unreadable or unwritable. */
  | 'io'
  /** A file whose content is not what it claims (corrupt, truncated, wrong format). */
  | 'format'
  /** A checkpoint or weights file that belongs to another model, preset or version. */
  | 'mismatch'
  /** Tensor shapes or batch sizes that do not fit together at an API boundary. */
  | 'shape'
  /** A non-finite value where training or a checkpoint needs a finite one. */
  | 'numeric'
  /** A backend, native addon or system library that cannot be loaded. */
  | 'environment';

export class EpgError extends Error {
  readonly _tag = 'EpgError' as const;
  override readonly name: string = 'EpgError';
  constructor(
    readonly kind: EpgErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `what: fix` as one line (newlines in either part are folded). */
export function epgError(kind: EpgErrorKind, what: string, fix?: string): EpgError {
  const line = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  return new EpgError(kind, fix ? `${line(what)}: ${line(fix)}` : line(what));
}

export function isEpgError(e: unknown): e is EpgError {
  return e instanceof Error && (e as { _tag?: unknown })._tag === 'EpgError';
}

/** For E.tryCatch at a boundary: an EpgError becomes the Left; anything else is a bug and is rethrown. */
export function toEpgError(e: unknown): EpgError {
  if (isEpgError(e)) return e;
  throw e;
}

/** Unwraps a Right or throws the Left (for scripts and tests that want exceptions). */
export function orThrow<A>(result: E.Either<Error, A>): A {
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
