/**
 * Progress of long work (training, sampling, feature extraction): step, loss terms, images/s and ETA.
 * On a TTY one live line is redrawn; otherwise plain lines are printed at most every `intervalMs`
 * (and always for the first and the last step), so logs of CI or `nohup` runs stay readable.
 */

export interface ProgressOptions {
  /** Total steps of this phase (> 0). */
  readonly total: number;
  /** Phase name printed first, e.g. 'pretrain'. */
  readonly label: string;
  /** Images per step, for the images/s figure (default: not shown). */
  readonly imagesPerStep?: number;
  /** Where lines go (default process.stderr). */
  readonly write?: (text: string) => void;
  /** Redraw one line in place (default: whether stderr is a TTY). */
  readonly tty?: boolean;
  /** Plain-line interval in ms (default 10 s); a TTY redraws at most every 200 ms. */
  readonly intervalMs?: number;
  /** Clock in ms (default performance.now), injectable for tests. */
  readonly now?: () => number;
  /** Step the phase starts at (a resumed run), so rates and ETA count only the work done here. */
  readonly startStep?: number;
}

export interface Progress {
  /** Report that `step` (0-based, completed) finished, with named values (loss terms, lr). */
  update(step: number, values?: Readonly<Record<string, number>>): void;
  /** Print the last state as a plain line (ends a TTY line). */
  done(): void;
}

/** "1h02m", "3m05s", "42s" (never negative; '?' when unknown). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** Compact number for a progress line: 4 significant digits, exponent form outside [1e-3, 1e5). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

export function createProgress(opts: ProgressOptions): Progress {
  if (!Number.isSafeInteger(opts.total) || opts.total < 1) {
    throw new RangeError(`progress '${opts.label}': total must be an integer >= 1, got ${opts.total}`);
  }
  const now = opts.now ?? (() => performance.now());
  const write = opts.write ?? ((t: string) => void process.stderr.write(t));
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const interval = tty ? 200 : (opts.intervalMs ?? 10_000);
  const startStep = opts.startStep ?? 0;
  const t0 = now();
  let lastPrint = -Infinity;
  let lastLine = '';
  let lastStep = startStep - 1;
  let printedStep = startStep - 1;

  const line = (step: number, values: Readonly<Record<string, number>>): string => {
    const done = step + 1 - startStep;
    const elapsed = (now() - t0) / 1000;
    const rate = elapsed > 0 ? done / elapsed : NaN;
    const eta = rate > 0 ? (opts.total - step - 1) / rate : NaN;
    const parts = [`${opts.label} ${step + 1}/${opts.total}`];
    for (const [k, v] of Object.entries(values)) parts.push(`${k} ${formatValue(v)}`);
    if (opts.imagesPerStep && rate > 0) parts.push(`${formatValue(rate * opts.imagesPerStep)} img/s`);
    parts.push(`elapsed ${formatDuration(elapsed)}`, `eta ${formatDuration(eta)}`);
    return parts.join('  ');
  };

  return {
    update(step, values = {}) {
      lastStep = step;
      const t = now();
      const first = step === startStep;
      const last = step + 1 >= opts.total;
      lastLine = line(step, values);
      if (!first && !last && t - lastPrint < interval) return;
      lastPrint = t;
      printedStep = step;
      write(tty ? `\r\x1b[2K${lastLine}` : `${lastLine}\n`);
    },
    done() {
      if (lastStep < startStep) return;
      if (tty) write(`\r\x1b[2K${lastLine}\n`);
      else if (printedStep !== lastStep) write(`${lastLine}\n`);
    },
  };
}
