/**
 * Reports built from run directories alone (nothing is recomputed): one run's HTML + Markdown
 * report (config, loss curves, sample grids, FID and probe results, recorded commands and times),
 * and a comparison of several runs that groups them by their config minus the seed (dataset,
 * preset, variants and any other edited field) and gives each metric's mean and spread over seeds.
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { readRecords, renderCurveSvg, writeReport, type ReportFigure, type ReportSection, type ReportTable } from '@epg/runs';
import { epgError } from '@epg/tensor';
import type { RunConfig } from '../config';
import type { PluginRecord } from '../plugins';
import { configDiff } from '../run-dir';
import { metricsPath, orThrow, type RunContext } from '../stages/common';
import { evalDir, gitCommit, openRun, probePath, type FidResult, type ProbeResultFile } from './evaluate-run';

/** `<run>/history.jsonl`: what epg-train recorded about its invocations and stages. */
export const historyPath = (dir: string) => join(dir, 'history.jsonl');

export type HistoryRecord =
  /** `program` is absent for epg-train (older runs) and 'epg-eval' for its result-writing commands. */
  | { readonly event: 'start'; readonly argv: readonly string[]; readonly commit: string | null; readonly date: string; readonly program?: 'epg-train' | 'epg-eval' }
  | { readonly event: 'stage'; readonly stage: string; readonly wallSeconds: number; readonly cpuSeconds: number; readonly date: string };

/** Appends one record to the run's history (best effort: a read-only directory only loses the record). */
export function appendHistory(dir: string, record: HistoryRecord): void {
  try {
    appendFileSync(historyPath(dir), `${JSON.stringify(record)}\n`);
  } catch {
    // the history is informative; a run never fails for it
  }
}

/** The start record of this process, for appendHistory. */
export function startRecord(argv: readonly string[], program: 'epg-train' | 'epg-eval' = 'epg-train'): HistoryRecord {
  return { event: 'start', argv: [...argv], commit: gitCommit(), date: new Date().toISOString(), ...(program === 'epg-eval' ? { program } : {}) };
}

export function readHistory(dir: string): HistoryRecord[] {
  if (!existsSync(historyPath(dir))) return [];
  return readFileSync(historyPath(dir), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as HistoryRecord];
      } catch {
        return []; // a line cut by a kill
      }
    });
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The FID results of a run (`eval/fid-*.json`), sorted by file name; `file` is relative to the run. */
export function readFidResults(dir: string): (FidResult & { readonly file: string })[] {
  const d = evalDir(dir);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => /^fid-.*\.json$/.test(f))
    .sort()
    .flatMap((f) => {
      const r = readJson<FidResult>(join(d, f));
      return r && typeof r.fid === 'number' ? [{ ...r, file: join('eval', f) }] : [];
    });
}

export const readProbe = (dir: string): ProbeResultFile | null => readJson<ProbeResultFile>(probePath(dir));

const variantLabel = (c: RunConfig) => c.preset + (c.variants.length ? ` + ${c.variants.join(' + ')}` : '');
// The sampler name starts with CM or DM (samplerName), so it also names the fine-tuning objective.
const fidLabel = (r: FidResult) => `${r.sampler} ${r.metric === 'domain-fid' ? 'domain-FID' : 'Inception-FID'}, ${r.samples} samples vs ${r.reference.count} ${r.reference.dataset} test (${r.extractor})`;
const commandLine = (argv: readonly string[]) => argv.map((a) => (/^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
/** The command a start record stands for, with its program's name. */
const startCommand = (s: Extract<HistoryRecord, { event: 'start' }>) => `${s.program ?? 'epg-train'} ${commandLine(s.argv)}`;

/** A run's metrics log, plain or gzip-compressed as a study's record keeps it (readRecords reads both). */
const hasMetrics = (dir: string) => existsSync(metricsPath(dir)) || existsSync(`${metricsPath(dir)}.gz`);

/** Re-renders the loss curves of `metrics.jsonl` into `<run>/curves/<stage>.svg`. */
export async function renderCurves(dir: string): Promise<ReportFigure[]> {
  if (!hasMetrics(dir)) return [];
  const records = orThrow(readRecords(metricsPath(dir)));
  const curves: ReportFigure[] = [];
  mkdirSync(join(dir, 'curves'), { recursive: true });
  for (const stage of ['pretrain', 'consistency', 'diffusion']) {
    const recs = records.filter((r) => r.phase === stage);
    if (recs.length === 0) continue;
    const series = Object.keys(recs[0].values).filter((k) => !['lr', 'imgPerSec', 'skipped'].includes(k));
    const path = join(dir, 'curves', `${stage}.svg`);
    writeFileSync(path, await renderCurveSvg(recs, { title: `${stage} loss`, phase: stage, series }));
    curves.push({ src: relative(dir, path), caption: `${stage} loss` });
  }
  return curves;
}

const table = (rows: readonly (readonly [string, string | number])[]): ReportTable => ({ columns: ['', ''], rows });

/**
 * Writes `report.html` and `report.md` of one run into `outDir` (default the run directory), with
 * links relative to it. Reads config.json, metrics.jsonl, samples/*.png, eval/*.json, history.jsonl.
 */
export async function writeRunReport(ctx: RunContext, outDir = ctx.dir): Promise<{ html: string; markdown: string }> {
  const { dir, config, vit } = ctx;
  mkdirSync(outDir, { recursive: true });
  const rel = (p: string) => relative(outDir, join(dir, p)) || '.';
  const runRows: [string, string][] = [
    ['preset', variantLabel(config)],
    ['dataset', config.data.dataset + (config.data.limit !== null ? ` (first ${config.data.limit} images)` : '')],
    ['model', `${config.model.preset} (${vit.encoder.depth}×${vit.encoder.width} encoder, patch ${vit.patchSize})`],
    ['seed', String(config.seed)],
    ...(['pretrain', 'consistency', 'diffusion'] as const).flatMap((s): [string, string][] => {
      const c = config[s];
      return c ? [[s, `${c.steps} steps × batch ${c.batch}`]] : [[s, 'none']];
    }),
    // Code variants (docs/variants.md), as epg-train recorded them in plugins.json.
    ...(ctx.plugins?.records ?? readJson<PluginRecord[]>(join(dir, 'plugins.json')) ?? []).map((r): [string, string] => [`plugin (${r.kind})`, `${r.package}@${r.version}: ${r.description}`]),
  ];
  const history = readHistory(dir);
  const starts = history.filter((h): h is Extract<HistoryRecord, { event: 'start' }> => h.event === 'start');
  const stages = history.filter((h): h is Extract<HistoryRecord, { event: 'stage' }> => h.event === 'stage');
  const sections: ReportSection[] = [
    { heading: 'Run', table: table(runRows), links: [{ href: rel('config.json'), label: 'resolved config' }, { href: rel('metrics.jsonl'), label: 'metrics (JSON Lines)' }] },
  ];
  if (starts.length) {
    sections.push({
      heading: 'Commands',
      table: { columns: ['date', 'command', 'commit'], rows: starts.map((s) => [s.date, startCommand(s), s.commit ?? 'unknown']) },
    });
  }
  if (stages.length) {
    sections.push({ heading: 'Times', table: { columns: ['stage', 'wall (s)', 'CPU (s)', 'finished'], rows: stages.map((s) => [s.stage, s.wallSeconds, s.cpuSeconds, s.date]) } });
  }
  const fids = readFidResults(dir);
  if (fids.length) {
    sections.push({
      heading: 'FID',
      text: 'FIDs compare only when their extractor names (weights hash included) agree.',
      table: {
        columns: ['objective', 'sampler', 'FID', 'samples', 'reference', 'extractor', 'checkpoint step', 'commit'],
        rows: fids.map((r) => [r.objective, r.sampler, r.fid, r.samples, `${r.reference.count} ${r.reference.dataset} test`, r.extractor, r.checkpointStep, r.commit?.slice(0, 12) ?? 'unknown']),
      },
      links: fids.map((r) => ({ href: rel(r.file), label: `${r.metric} ${r.objective}, ${r.sampler} (JSON)` })),
    });
  }
  const probe = readProbe(dir);
  if (probe) {
    sections.push({
      heading: 'Encoder probes',
      text: `Pre-trained encoder (online) at step ${probe.checkpointStep}: ${probe.trainImages} train / ${probe.testImages} test images, kNN k = ${probe.k}, linear probe ${probe.linearSteps} Adam steps. σ unshifted (0 = σ₀); image noise is the shifted σ.`,
      table: {
        columns: ['σ', 'image noise', 'kNN top-1', 'linear top-1', 'feature std'],
        rows: probe.rows.map((r) => [r.requested === 0 ? 'σ₀' : r.requested, r.sigma, r.knnTop1, r.linearTop1 ?? '—', r.featureStd]),
      },
      links: [{ href: rel('eval/probe.json'), label: 'probe (JSON)' }],
    });
  }
  const grids = existsSync(join(dir, 'samples')) ? readdirSync(join(dir, 'samples')).filter((f) => f.endsWith('.png')).sort() : [];
  if (grids.length) sections.push({ heading: 'Samples', figures: grids.map((g) => ({ src: rel(join('samples', g)), caption: g.replace(/\.png$/, '') })) });
  // Grids of the trained weights written during fine-tuning (config.eval.gridEvery), in step order.
  const progressDir = join(dir, 'samples', 'progress');
  const progress = existsSync(progressDir) ? readdirSync(progressDir).filter((f) => f.endsWith('.png')).sort() : [];
  if (progress.length) sections.push({ heading: 'Samples during fine-tuning', figures: progress.map((g) => ({ src: rel(join('samples', 'progress', g)), caption: g.replace(/\.png$/, '').replace('-step', ', step ') })) });
  const curves = await renderCurves(dir);
  if (curves.length) sections.push({ heading: 'Loss curves', figures: curves.map((c) => ({ ...c, src: rel(c.src) })) });
  const last = starts[starts.length - 1];
  return orThrow(writeReport(outDir, { title: `epg-train: ${variantLabel(config)} (seed ${config.seed})`, ...(last ? { subtitle: `${last.commit ? `commit ${last.commit.slice(0, 12)}, ` : ''}${last.date}` } : {}), sections }));
}

/** Mean, sample standard deviation (n − 1; 0 for one run), min and max. */
export function spread(values: readonly number[]): { n: number; mean: number; std: number; min: number; max: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values) };
}

export interface RunSummary {
  readonly dir: string;
  readonly config: RunConfig;
  /** Metric label → value (FIDs labelled with sampler, counts and extractor; probe accuracies by σ). */
  readonly metrics: ReadonlyMap<string, number>;
  readonly commands: readonly string[];
  readonly commits: readonly string[];
}

/**
 * Wall and CPU seconds per stage, summed over the processes that ran it (a resumed stage has several
 * records), and the run's totals: `time: <stage> wall (s)`, `time: <stage> CPU (s)`.
 */
export function timeMetrics(history: readonly HistoryRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, Number(((out.get(k) ?? 0) + v).toFixed(1)));
  for (const h of history) {
    if (h.event !== 'stage') continue;
    add(`time: ${h.stage} wall (s)`, h.wallSeconds);
    add(`time: ${h.stage} CPU (s)`, h.cpuSeconds);
    add('time: total wall (s)', h.wallSeconds);
    add('time: total CPU (s)', h.cpuSeconds);
  }
  return out;
}

/**
 * Each fine-tuning stage's loss terms averaged over its last 10 % of steps (at least 20 when the stage
 * has them: one batch per step is noisy): `<stage> <term>, mean of steps a–b`. Runs with equal step counts compare at
 * the same steps, which is how "lower loss at the same step" is read. Pre-training losses differ
 * by method and are not compared.
 */
export function lossWindowMetrics(ctx: RunContext): Map<string, number> {
  const out = new Map<string, number>();
  if (!hasMetrics(ctx.dir)) return out;
  const records = readRecords(metricsPath(ctx.dir));
  if (E.isLeft(records)) return out;
  for (const stage of ['consistency', 'diffusion'] as const) {
    const steps = ctx.config[stage]?.steps;
    if (!steps) continue;
    const window = Math.min(steps, Math.max(20, Math.ceil(steps / 10)));
    const first = Math.max(0, steps - window);
    const recs = records.right.filter((r) => r.phase === stage && r.step >= first && r.step < steps);
    if (recs.length < window) continue; // stage not finished
    for (const key of Object.keys(recs[0].values).filter((k) => !['lr', 'imgPerSec', 'skipped'].includes(k))) {
      const vals = recs.map((r) => r.values[key]).filter((v) => Number.isFinite(v));
      if (vals.length) out.set(lossWindowLabel(stage, key, first, steps - 1), vals.reduce((a, b) => a + b, 0) / vals.length);
    }
  }
  return out;
}

const STAGE_ABBREVIATION = { consistency: 'CM', diffusion: 'DM' } as const;

/** `CM total loss, mean of steps 1800–1999`, `CM consistency term, …`: a loss term of a fine-tuning stage over a step window. */
export function lossWindowLabel(stage: 'consistency' | 'diffusion', key: string, first: number, last: number): string {
  return `${STAGE_ABBREVIATION[stage]} ${key === 'loss' ? 'total loss' : `${key} term`}, mean of steps ${first}–${last}`;
}

/** Everything a comparison needs from one run directory. */
export function summarizeRun(ctx: RunContext): RunSummary {
  const metrics = new Map<string, number>();
  for (const r of readFidResults(ctx.dir)) metrics.set(fidLabel(r), r.fid);
  const probe = readProbe(ctx.dir);
  for (const r of probe?.rows ?? []) {
    const s = r.requested === 0 ? 'σ₀' : `σ = ${r.requested}`;
    metrics.set(`kNN top-1 at ${s} (${probe!.trainImages}/${probe!.testImages} images)`, r.knnTop1);
    if (r.linearTop1 !== null) metrics.set(`linear top-1 at ${s} (${probe!.trainImages}/${probe!.testImages} images)`, r.linearTop1);
  }
  for (const [k, v] of lossWindowMetrics(ctx)) metrics.set(k, v);
  const history = readHistory(ctx.dir);
  for (const [k, v] of timeMetrics(history)) metrics.set(k, v);
  const starts = history.flatMap((h) => (h.event === 'start' ? [h] : []));
  const fids = readFidResults(ctx.dir);
  const commits = [...new Set([...starts.map((s) => s.commit), ...fids.map((f) => f.commit), probe?.commit ?? null].filter((c): c is string => c !== null))];
  return { dir: ctx.dir, config: ctx.config, metrics, commands: starts.map((s) => startCommand(s)), commits };
}

/** The grouping key of a run: its config without the seed. */
const groupKey = (c: RunConfig) => JSON.stringify({ ...c, seed: null });

export interface RunGroup {
  readonly label: string;
  readonly config: RunConfig;
  readonly runs: readonly RunSummary[];
}

/**
 * Groups runs whose configs are equal up to the seed. A group's label is its dataset, preset and
 * variants; groups that share that label also name the fields where they differ from the first.
 */
export function groupRuns(runs: readonly RunSummary[]): RunGroup[] {
  const byKey = new Map<string, RunSummary[]>();
  for (const r of runs) byKey.set(groupKey(r.config), [...(byKey.get(groupKey(r.config)) ?? []), r]);
  const groups = [...byKey.values()].map((rs) => ({ config: rs[0].config, runs: rs }));
  const base = (c: RunConfig) => `${c.data.dataset} · ${variantLabel(c)}`;
  return groups.map((g) => {
    const same = groups.filter((h) => base(h.config) === base(g.config));
    if (same.length === 1 || same[0] === g) return { ...g, label: base(g.config) };
    const diff = configDiff({ ...same[0].config, seed: null }, { ...g.config, seed: null }).map((d) => d.replace(/^(\S+): .* → /, '$1 = '));
    return { ...g, label: `${base(g.config)} (${diff.join(', ')})` };
  });
}

/** Metrics that get a column in a comparison's summary: FIDs, probes at σ₀, the fine-tuning losses, total CPU time. */
const isHeadlineMetric = (m: string) => /-FID, /.test(m) || /^(kNN|linear) top-1 at σ₀/.test(m) || /^CM consistency term, |^DM total loss, /.test(m) || m === 'time: total CPU (s)';

/** Four significant digits (two for a spread), without exponent noise for ordinary magnitudes. */
const fmt = (v: number, digits = 4) => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : String(v));

/**
 * Writes a comparison report of several runs into `outDir` (report.html, report.md, and the same
 * numbers as comparison.json): one table per metric with mean ± spread over the seeds of each group,
 * then the runs with their commands and commits. Refuses directories that are not runs.
 */
export function writeComparisonReport(dirs: readonly string[], outDir: string): E.Either<Error, { html: string; markdown: string; groups: RunGroup[] }> {
  const runs: RunSummary[] = [];
  for (const d of dirs) {
    const ctx = openRun(d);
    if (E.isLeft(ctx)) return ctx;
    runs.push(summarizeRun(ctx.right));
  }
  const seen = new Set<string>();
  for (const d of dirs) {
    if (seen.has(resolve(d))) return E.left(epgError('config', `run ${d} is given twice`, 'pass each --run once'));
    seen.add(resolve(d));
  }
  const groups = groupRuns(runs);
  const metricNames = [...new Set(runs.flatMap((r) => [...r.metrics.keys()]))].sort();
  const statsOf = (m: string) =>
    groups.flatMap((g) => {
      const values = g.runs.flatMap((r) => (r.metrics.has(m) ? [r.metrics.get(m)!] : []));
      return values.length ? [{ group: g.label, ...spread(values) }] : [];
    });
  const sections: ReportSection[] = [];
  const headline = metricNames.filter(isHeadlineMetric);
  if (headline.length) {
    const cellOf = (g: RunGroup, m: string) => {
      const values = g.runs.flatMap((r) => (r.metrics.has(m) ? [r.metrics.get(m)!] : []));
      if (!values.length) return '–';
      const s = spread(values);
      return values.length === 1 ? `${fmt(s.mean)} (n = 1)` : `${fmt(s.mean)} ± ${fmt(s.std, 2)} (n = ${s.n})`;
    };
    sections.push({
      heading: 'Summary',
      text: 'Mean ± sample standard deviation over the seeds of each group, for the headline metrics; every metric has its own table below with min and max. Columns are named by the start of the metric name.',
      table: { columns: ['group', ...headline.map((m) => m.split(',')[0].replace(/ \(\d+\/\d+ images\)$/, ''))], rows: groups.map((g) => [g.label, ...headline.map((m) => cellOf(g, m))]) },
    });
  }
  sections.push({
    heading: 'Groups',
    text: 'Runs are grouped by their config without the seed; mean and sample standard deviation (n − 1) are over the seeds of a group. FIDs of different extractors (weights hash in the name) are separate metrics and never mixed.',
    table: { columns: ['group', 'runs', 'seeds'], rows: groups.map((g) => [g.label, g.runs.length, g.runs.map((r) => r.config.seed).join(', ')]) },
  });
  for (const m of metricNames) {
    const rows = statsOf(m).map((s) => [s.group, s.n, s.mean, s.std, s.min, s.max]);
    sections.push({ heading: m, table: { columns: ['group', 'n', 'mean', 'std', 'min', 'max'], rows } });
  }
  mkdirSync(outDir, { recursive: true });
  // The same numbers as data, for documents generated from a study (comparison.json).
  const data = {
    groups: groups.map((g) => ({
      label: g.label,
      config: { ...g.config, seed: null },
      runs: g.runs.map((r) => ({ dir: relative(outDir, r.dir) || '.', seed: r.config.seed, commands: r.commands, commits: r.commits, metrics: Object.fromEntries(r.metrics) })),
    })),
    metrics: Object.fromEntries(metricNames.map((m) => [m, statsOf(m)])),
  };
  try {
    writeFileSync(join(outDir, 'comparison.json'), `${JSON.stringify(data, null, 2)}\n`);
  } catch (e) {
    return E.left(epgError('io', `cannot write ${join(outDir, 'comparison.json')} (${(e as Error).message})`, 'check --out is writable'));
  }
  // Grids and loss curves of every run, copied next to the report so that it stands alone (a
  // study's run directories hold checkpoints and are not committed). Runs that already lie under
  // outDir (a study's records) are linked in place.
  const mediaFigures: ReportSection[] = [];
  const base = runs.map((r) => basename(r.dir));
  const inside = (d: string) => {
    const rel = relative(resolve(outDir), resolve(d));
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  for (const [i, r] of runs.entries()) {
    const name = base.filter((b) => b === base[i]).length > 1 ? `${base[i]}-${i + 1}` : base[i];
    const figures: ReportFigure[] = [];
    for (const sub of ['samples', 'curves']) {
      const from = join(r.dir, sub);
      if (!existsSync(from)) continue;
      for (const f of readdirSync(from).filter((f) => /\.(png|svg)$/.test(f)).sort()) {
        const to = inside(r.dir) ? join(from, f) : join(outDir, 'runs', name, sub, f);
        if (!inside(r.dir)) {
          mkdirSync(join(outDir, 'runs', name, sub), { recursive: true });
          copyFileSync(join(from, f), to);
        }
        figures.push({ src: relative(outDir, to), caption: `${name}: ${sub === 'samples' ? f.replace(/\.png$/, '') : `${f.replace(/\.svg$/, '')} loss`}` });
      }
    }
    if (figures.length) mediaFigures.push({ heading: `Grids and curves: ${name}`, figures });
  }
  sections.push(...mediaFigures);
  sections.push({
    heading: 'Runs',
    table: {
      columns: ['run', 'group', 'seed', 'command', 'commit'],
      rows: runs.map((r) => [relative(outDir, r.dir) || basename(r.dir), groups.find((g) => g.runs.includes(r))!.label, r.config.seed, r.commands.join('; ') || 'not recorded', r.commits.map((c) => c.slice(0, 12)).join(', ') || 'not recorded']),
    },
    // A run's own report when epg-eval wrote one, else its resolved config.
    links: runs.map((r) => {
      const own = existsSync(join(r.dir, 'report.html'));
      return { href: join(relative(outDir, r.dir) || '.', own ? 'report.html' : 'config.json'), label: `${own ? 'report' : 'config'} of ${relative(outDir, r.dir) || basename(r.dir)}` };
    }),
  });
  const written = writeReport(outDir, { title: `epg-eval: comparison of ${runs.length} runs`, sections });
  if (E.isLeft(written)) return written;
  return E.right({ ...written.right, groups });
}
