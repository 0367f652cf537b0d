/**
 * Test helpers that run the built CLI (`node apps/train/dist/cli.js`) as a child process, as a user
 * would: exit codes, signals, stdout/stderr lines, and snapshots of run directories. Build first:
 * `pnpm turbo run build --filter=epg-train...`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { nativeKernelsActive } from '@epg/tensor';

export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it first (pnpm turbo run build --filter=epg-train...)`);
}

/**
 * The backend the child trains on: cpu when this jest process has the native kernels (OpenBLAS), else
 * wasm (stock tfjs cpu kernels are ~20× slower than native and ~5× slower than wasm for these models).
 * Resume is bitwise exact on either: both are deterministic single-threaded backends.
 */
export function childBackend(): 'cpu' | 'wasm' {
  return nativeKernelsActive() ? 'cpu' : 'wasm';
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string[];
  readonly stderr: string[];
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

export interface Running {
  readonly child: ChildProcess;
  /** Resolves when the child has exited (by itself or by a signal). */
  readonly done: Promise<CliResult>;
  /** Resolves with the first line of stdout or stderr matching `re` (rejects if the child exits first). */
  readonly waitForLine: (re: RegExp) => Promise<string>;
}

/** Starts the CLI with `args`; the environment is this process's plus `env`. */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): Running {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  const check = () => {
    const all = [...lines(out), ...lines(err)];
    for (const w of [...waiters]) {
      const hit = all.find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    check();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`the CLI exited (code ${code}, signal ${signal}) before printing a line matching ${w.re}; stderr:\n${err}`));
      resolve({ code, signal, stdout: lines(out), stderr: lines(err) });
    });
  });
  const waitForLine = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      waiters.push({ re, resolve, reject });
      check();
    });
  return { child, done, waitForLine };
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** Every file and folder under `dir` with its size, mtime and content hash (files), sorted. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      const rel = relative(dir, p);
      if (st.isDirectory()) {
        out.push(`${rel}/ mtime=${st.mtimeMs}`);
        walk(p);
      } else {
        out.push(`${rel} size=${st.size} mtime=${st.mtimeMs} sha=${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`);
      }
    }
  };
  walk(dir);
  return out;
}

/** `--set` pairs. */
export const sets = (...kv: string[]) => kv.flatMap((s) => ['--set', s]);
