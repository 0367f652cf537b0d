/**
 * What epg-train and epg-eval share as command-line programs: the option parser's errors as one
 * line, and every EpgError ending as one line `error: <message>` on stderr and exit code 1; anything
 * else is a bug (its stack, exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as E from 'fp-ts/Either';
import { epgError, isEpgError, type EpgError } from '@epg/tensor';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util's parseArgs (positionals allowed) with its errors as one EpgError line pointing to the
 * program's --help: an unknown option, a missing value, a flag given a value.
 */
export function parseCommandLine<const O extends OptionsConfig>(
  argv: readonly string[],
  program: string,
  options: O,
): E.Either<EpgError, ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>> {
  try {
    return E.right(parseArgs<{ args: string[]; allowPositionals: true; options: O }>({ args: [...argv], allowPositionals: true, options }));
  } catch (e) {
    return E.left(epgError('config', (e as Error).message.split('\n')[0], `see ${program} --help`));
  }
}

/** Runs `body` and turns an EpgError into one `error:` line and exit code 1; other errors propagate. */
export async function withOneLineErrors(err: (line: string) => void, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (isEpgError(e)) {
      err(`error: ${e.message.split('\n')[0]}`);
      return 1;
    }
    throw e;
  }
}

/** Runs a CLI `main` as the process: its exit code, or 2 with the stack for an unexpected error. */
export function runAsProcess(main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(2);
    },
  );
}
