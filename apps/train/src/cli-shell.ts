/**
 * What epg-train and epg-eval share as command-line programs: every EpgError ends as one line
 * `error: <message>` on stderr and exit code 1; anything else is a bug (its stack, exit code 2).
 */
import { isEpgError } from '@epg/tensor';

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
