/**
 * The `pnpm bench` harness: time a function robustly (warm-up, then repeat until a minimum time),
 * and print tables whose ratio column compares every row with a baseline measured in the same run.
 */

export interface Timing {
  /** Median wall time of one call, milliseconds. */
  readonly medianMs: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly iterations: number;
}

export interface MeasureOptions {
  /** Untimed calls first (JIT, kernel caches, wasm init). */
  readonly warmup?: number;
  /** Keep timing until this much time has passed... */
  readonly minTimeMs?: number;
  /** ...and at least this many calls. */
  readonly minIterations?: number;
  readonly maxIterations?: number;
}

/** True when EPG_BENCH_QUICK is set: shorter timing, for a smoke run of the benchmarks. */
export const quick = (): boolean => process.env.EPG_BENCH_QUICK === '1';

/** Times `fn` (sync or async). The median resists the odd slow call from GC or a busy neighbour. */
export async function measure(fn: () => unknown, opts: MeasureOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 2;
  const minTimeMs = opts.minTimeMs ?? (quick() ? 200 : 1500);
  const minIterations = opts.minIterations ?? 3;
  const maxIterations = opts.maxIterations ?? 10_000;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < maxIterations &&
    (times.length < minIterations || performance.now() - start < minTimeMs)
  ) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    medianMs: sorted[Math.floor(sorted.length / 2)],
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    minMs: sorted[0],
    iterations: times.length,
  };
}

export type Cell = string | number;
export type Row = Record<string, Cell>;

function fmt(v: Cell): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) < 1e9)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Renders rows as an aligned plain-text table (works without a TTY). */
export function formatTable(title: string, rows: readonly Row[]): string {
  if (rows.length === 0) return `${title}\n(no rows)`;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : fmt(r[c]))));
  const width = cols.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const line = (xs: string[]) => xs.map((x, j) => (j === 0 ? x.padEnd(width[j]) : x.padStart(width[j]))).join('  ');
  return [title, line(cols), width.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${formatTable(title, rows)}\n`);
}

/**
 * Adds a `vs <baseline>` column: each row's `value` divided by the baseline row's value within
 * the same group (rows sharing `groupKey`), so ratios compare like with like from this run.
 */
export function withRatios(
  rows: readonly Row[],
  opts: { value: string; groupKey: string; baselineKey: string; baseline: string; higherIsBetter?: boolean },
): Row[] {
  const label = `x vs ${opts.baseline}`;
  return rows.map((r) => {
    const base = rows.find((b) => b[opts.groupKey] === r[opts.groupKey] && b[opts.baselineKey] === opts.baseline);
    const v = Number(r[opts.value]);
    const bv = base ? Number(base[opts.value]) : NaN;
    const ratio = opts.higherIsBetter === false ? bv / v : v / bv;
    return { ...r, [label]: Number.isFinite(ratio) ? ratio : '-' };
  });
}

export { measureGemmCeiling, numpyGemmRate, bestCeiling } from './ceiling';
export type { GemmCeiling, GemmRate } from './ceiling';

/** CPU time of this process in milliseconds (user + system), for rates robust to a busy machine. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
