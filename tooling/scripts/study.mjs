#!/usr/bin/env node
// The reproduction study's driver (docs/results.md): the grid of runs on MNIST and Fashion-MNIST,
// run one at a time with epg-train and epg-eval, resumable at any point, then one comparison report
// written by `epg-eval report` from the run directories (never typed by hand).
//
//   node tooling/scripts/study.mjs status  [--runs DIR] [--datasets mnist,fashion-mnist] [--seeds 0,1] [--arms a,b]
//   node tooling/scripts/study.mjs run     [same options]      # runs what is missing, resumes what is partial
//   node tooling/scripts/study.mjs report  [same options] --out docs/results/study
//   (every command also takes --records DIR, default docs/results/study/records)
//   --steps N: every stage N steps instead of the presets' 2000 (`--set pretrain.steps=N` etc.); a
//   separate study, with defaults --runs runs/study-steps<N>, --records docs/results/study-steps<N>/records
//   and --out docs/results/study-steps<N>, so it never mixes with the 2000-step grid.
//
// A cell (dataset, seed, arm) is one run directory `<runs>/<dataset>-<arm>-s<seed>`: `epg-train all`
// (pre-training unless the arm has none, CM and DM fine-tuning, grids, domain-FID), then
// `epg-eval probe` of its encoder at σ₀ and σ ∈ {0.5, 1, 2}. A cell is done when its FID files and
// probe exist; a cell with a config but no results is resumed (`epg-train all --resume`), so a kill
// costs at most the steps since the last checkpoint. Cells run seed-major (every arm of seed 0 on both
// datasets before seed 1), so a study stopped early has comparable arms. Several drivers may run at
// once (e.g. one per core, `--datasets mnist` and `--datasets fashion-mnist`): a driver takes a cell
// by creating `<cell>.lock` (exclusive create, its pid inside) and skips cells another live driver holds.
//
// A finished cell is archived: what the report reads from its run directory (config, history, eval
// results, final grids, curves, and metrics.jsonl gzip-compressed: about 0.6 MB) is copied to
// `<records>/<name>`, which is committed. Checkpoints, progress grids, the cached reference statistics
// and the per-run report stay behind.
// A cell whose record exists is done even when its run directory is gone (a new machine), and the
// report is written from the records, so the committed report can always be regenerated.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TRAIN = join(root, 'apps', 'train', 'dist', 'cli.js');
const EVAL = join(root, 'apps', 'eval', 'dist', 'cli.js');

/** The study's arms: the pre-training scheme (the paper's ablation rows) and the aux-loss switch. */
export const ARMS = {
  // Listed in run order: the headline comparison (EPG against scratch, with and without the CM
  // auxiliary loss) first, so that a study stopped early has it.
  epg: { variants: [], sets: [], what: '(a) EPG with the τ schedule' },
  scratch: { variants: ['scratch'], sets: [], what: '(e) none (random encoder)' },
  // CM without the auxiliary loss from (a): the same seed gives the same pre-training as `epg`.
  'epg-no-aux': { variants: ['no-aux-loss'], sets: ['diffusion=null'], what: '(a) without the CM auxiliary loss' },
  rrcm: { variants: ['rrcm'], sets: [], what: '(c) rRCM' },
  mocov3: { variants: ['mocov3'], sets: [], what: '(d) MoCo v3' },
  'constant-tau': { variants: ['constant-tau'], sets: [], what: '(b) EPG with constant τ' },
};
const PRESET = { mnist: 'mnist-study', 'fashion-mnist': 'fashion-study' };
const PROBE_SIGMAS = '0,0.5,1,2';

function fail(line) {
  process.stderr.write(`error: ${line}\n`);
  process.exit(1);
}

function options(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        runs: { type: 'string' },
        steps: { type: 'string' },
        datasets: { type: 'string', default: 'mnist,fashion-mnist' },
        seeds: { type: 'string', default: '0,1' },
        arms: { type: 'string', default: Object.keys(ARMS).join(',') },
        out: { type: 'string' },
        records: { type: 'string' },
      },
    });
  } catch (e) {
    fail(`${e.message}: see the usage at the top of tooling/scripts/study.mjs`);
  }
  const [command = 'status', ...rest] = parsed.positionals;
  if (!['status', 'run', 'report'].includes(command) || rest.length) fail(`unknown command '${[command, ...rest].join(' ')}': use status | run | report`);
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const datasets = list(parsed.values.datasets);
  for (const d of datasets) if (!PRESET[d]) fail(`--datasets: '${d}' is not a study dataset: use ${Object.keys(PRESET).join(', ')}`);
  const seeds = list(parsed.values.seeds).map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`--seeds: '${s}' is not an integer >= 0`)));
  const arms = list(parsed.values.arms);
  for (const a of arms) if (!ARMS[a]) fail(`--arms: '${a}' is not an arm: use ${Object.keys(ARMS).join(', ')}`);
  const stepsArg = parsed.values.steps;
  if (stepsArg !== undefined && !/^[1-9]\d*$/.test(stepsArg)) fail(`--steps: '${stepsArg}' is not a whole number of steps >= 1`);
  const steps = stepsArg === undefined ? null : Number(stepsArg);
  const study = steps === null ? 'study' : `study-steps${steps}`;
  const v = parsed.values;
  return {
    command, datasets, seeds, arms, steps,
    runs: resolve(v.runs ?? `runs/${study}`),
    out: resolve(v.out ?? `docs/results/${study}`),
    records: resolve(v.records ?? `docs/results/${study}/records`),
  };
}

/** Every cell in run order: seed-major, then dataset, then arm. */
function cells(o) {
  return o.seeds.flatMap((seed) =>
    o.datasets.flatMap((dataset) =>
      o.arms.map((arm) => {
        const name = `${dataset}-${arm}-s${seed}`;
        return { seed, dataset, arm, steps: o.steps, dir: join(o.runs, name), record: join(o.records, name) };
      }),
    ),
  );
}

const readJson = (p) => {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
};

/** True when the run directory `dir` holds every result of its cell: FIDs of its objectives and the probe. */
function finished(dir) {
  const config = readJson(join(dir, 'config.json'));
  if (!config) return false;
  const objectives = ['consistency', 'diffusion'].filter((o) => config[o] !== null);
  return [...objectives.map((o) => join(dir, 'eval', `fid-${o}.json`)), join(dir, 'eval', 'probe.json')].every((p) => existsSync(p));
}

/**
 * 'done' (recorded) | 'finished' (results in the run directory, not yet archived) | 'partial' | 'missing'.
 * Results are what count: a run without its FIDs or probe is unfinished.
 */
function status(cell) {
  if (finished(cell.record)) return 'done';
  if (finished(cell.dir)) return 'finished';
  return existsSync(join(cell.dir, 'config.json')) ? 'partial' : 'missing';
}

/** Paths of a run directory that its record leaves out (relative, '/'-separated); see the header. */
const NOT_ARCHIVED = [/^checkpoints(\/|$)/, /^samples\/progress(\/|$)/, /^eval\/reference-.*\.npz$/, /^report\.(html|md)$/, /\.lock$/];

/**
 * Copies a finished run directory to the cell's record (without NOT_ARCHIVED, metrics.jsonl as
 * metrics.jsonl.gz, which the report reads the same way): first into a temporary sibling, then
 * renamed, so a record is either complete or absent.
 */
function archive(cell) {
  if (!finished(cell.dir)) fail(`${cell.dir} is not finished, so it is not archived: run the study again (it resumes)`);
  const tmp = `${cell.record}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(tmp), { recursive: true });
  cpSync(cell.dir, tmp, {
    recursive: true,
    filter: (src) => {
      const rel = relative(cell.dir, src).split(sep).join('/');
      return rel === 'metrics.jsonl' ? false : !NOT_ARCHIVED.some((re) => re.test(rel));
    },
  });
  writeFileSync(join(tmp, 'metrics.jsonl.gz'), gzipSync(readFileSync(join(cell.dir, 'metrics.jsonl')), { level: 9 }));
  rmSync(cell.record, { recursive: true, force: true });
  renameSync(tmp, cell.record);
  process.stdout.write(`[study] archived ${cell.dir} (without checkpoints, metrics gzip-compressed) to ${relative(root, cell.record) || cell.record}\n`);
}

/** The cell's epg-train command; a resume repeats it with --resume (epg-train checks the config is the same). */
function trainArgs(cell) {
  const arm = ARMS[cell.arm];
  const resume = existsSync(join(cell.dir, 'config.json')) ? ['--resume'] : [];
  // the scratch arm has no pre-training section to set
  const stages = arm.variants.includes('scratch') ? ['consistency', 'diffusion'] : ['pretrain', 'consistency', 'diffusion'];
  const steps = cell.steps === null ? [] : stages.map((stage) => `${stage}.steps=${cell.steps}`);
  return ['all', '--preset', PRESET[cell.dataset], ...arm.variants.flatMap((v) => ['--variant', v]), ...[`seed=${cell.seed}`, ...steps, ...arm.sets].flatMap((s) => ['--set', s]), '--run', cell.dir, ...resume];
}

function node(script, args) {
  process.stdout.write(`[study] ${script === TRAIN ? 'epg-train' : 'epg-eval'} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) fail(`${script === TRAIN ? 'epg-train' : 'epg-eval'} ${args.join(' ')} exited with ${r.status ?? r.signal}: fix the cause and run the study again (it resumes)`);
}

const ADDON = join(root, 'packages', 'tensor-native', 'dist', 'native', 'epg_tensor_native.node');

/** epg-train and epg-eval built, and the native kernels with them: the plan's costs assume them (wasm is ~8× slower). */
function ensureBuilt() {
  const r = spawnSync('pnpm', ['turbo', 'run', 'build', '--filter=epg-train...', '--filter=epg-eval...', '--output-logs=errors-only'], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) fail('building epg-train and epg-eval failed: run `pnpm install` first');
  // A build replayed from turbo's cache may come from a machine state without the addon (no OpenBLAS then).
  if (!existsSync(ADDON)) spawnSync(process.execPath, [join(root, 'packages', 'tensor-native', 'scripts', 'build-native.js')], { stdio: 'inherit', cwd: root });
  if (!existsSync(ADDON)) fail('the native CPU kernels are not built, and the study would run on wasm (~8× slower): apt-get install -y build-essential libopenblas-dev, then pnpm --filter @epg/tensor-native build');
}

/** Takes the cell for this process; false when another live driver holds it (a dead one's lock is taken over). */
function lock(cell) {
  const path = `${cell.dir}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.on('exit', () => rmSync(path, { force: true }));
      return true;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8'));
      try {
        process.kill(pid, 0); // alive: another driver's cell
        return false;
      } catch {
        rmSync(path, { force: true }); // its driver is gone
      }
    }
  }
  return false;
}

function unlock(cell) {
  rmSync(`${cell.dir}.lock`, { force: true });
}

/** The paper's ablation (ImageNet at 224, EPG-B/16, equal fine-tuning): FID per pre-training arm; null = diverged. */
const PAPER = {
  'DM Heun': { epg: 41.36, rrcm: 46.51, mocov3: 56.26, scratch: 59.69 },
  'CM one-step': { epg: 33.12, rrcm: 37.55, mocov3: 36.77, scratch: null },
};

/** The rows of docs/results/study/ordering.md: per dataset, the arms ranked on each headline metric (better first). */
const ORDERED_METRICS = [
  { match: /^DM Heun \d+ steps domain-FID/, lowerIsBetter: true, paper: 'DM Heun' },
  { match: /^CM one-step domain-FID/, lowerIsBetter: true, paper: 'CM one-step' },
  { match: /^CM consistency term, /, lowerIsBetter: true },
  { match: /^DM total loss, /, lowerIsBetter: true },
  { match: /^kNN top-1 at /, lowerIsBetter: false },
  { match: /^linear top-1 at /, lowerIsBetter: false },
];

/**
 * Writes the orderings (docs/results/study/ordering.md with the default --out) from the report's comparison.json (generated, never typed): for each
 * dataset and headline metric, the arms ranked by their mean over seeds, with sample std and n, and
 * whether each arm's mean ± std interval overlaps the next one's (with 2 seeds a crude test; an
 * overlap is read as a tie). The paper's FID ordering is set beside the two FID rows.
 */
function writeOrdering(out) {
  const data = readJson(join(out, 'comparison.json'));
  if (!data) fail(`${join(out, 'comparison.json')} is missing or not JSON: run the report again`);
  const armOf = (dir) => {
    const m = /^(.*)-s\d+$/.exec(dir.split('/').pop());
    const name = m ? m[1] : dir;
    return { dataset: Object.keys(PRESET).sort((a, b) => b.length - a.length).find((d) => name.startsWith(`${d}-`)), arm: name.replace(/^(fashion-mnist|mnist)-/, '') };
  };
  const rows = []; // { dataset, metric, arm, values }
  for (const g of data.groups) {
    for (const r of g.runs) {
      const { dataset, arm } = armOf(r.dir);
      for (const [metric, v] of Object.entries(r.metrics)) rows.push({ dataset, metric, arm, seed: r.seed, v });
    }
  }
  const stats = (vs) => {
    const n = vs.length;
    const mean = vs.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(vs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return { n, mean, std };
  };
  const f = (v, digits = 4) => String(Number(v.toPrecision(digits)));
  // epg-no-aux probes the encoder of epg (same seed, same pre-training, bit for bit): not a row of its own.
  const probeMetric = (m) => /^(kNN|linear) top-1/.test(m);
  const lines = [
    '# Orderings of the study (generated)',
    '',
    `Written by \`node tooling/scripts/study.mjs report\` from [comparison.json](comparison.json); the numbers, commands and commits behind every cell are in [report.md](report.md). Arms are ranked by their mean over seeds (better first); \`≈\` joins two neighbours whose mean ± sample std intervals overlap (a tie at this number of seeds), \`<\`/\`>\` separates neighbours whose intervals do not, and a comma separates neighbours of which one has a single seed (no spread: ranked, not compared). n is the number of seeds.`,
    '',
  ];
  for (const dataset of Object.keys(PRESET)) {
    const metrics = [...new Set(rows.filter((r) => r.dataset === dataset).map((r) => r.metric))].sort();
    const selected = ORDERED_METRICS.flatMap((spec) => metrics.filter((m) => spec.match.test(m)).map((m) => ({ ...spec, metric: m })));
    if (!selected.length) continue;
    lines.push(`## ${dataset}`, '', '| metric | ordering (mean ± std, n) | paper (ImageNet 224, B/16) |', '|---|---|---|');
    for (const spec of selected) {
      const arms = [...new Set(rows.filter((r) => r.dataset === dataset && r.metric === spec.metric).map((r) => r.arm))].filter((a) => !(probeMetric(spec.metric) && a === 'epg-no-aux'));
      const ranked = arms
        .map((arm) => ({ arm, ...stats(rows.filter((r) => r.dataset === dataset && r.metric === spec.metric && r.arm === arm).map((r) => r.v)) }))
        .sort((a, b) => (spec.lowerIsBetter ? a.mean - b.mean : b.mean - a.mean));
      const cell = ranked
        .map((a, i) => {
          const text = `${a.arm} ${f(a.mean)}${a.n > 1 ? ` ± ${f(a.std, 2)}` : ''} (${a.n})`;
          if (i === 0) return text;
          const prev = ranked[i - 1];
          // One seed has no spread: such a neighbour is ranked, not compared.
          if (a.n < 2 || prev.n < 2) return `, ${text}`;
          const overlap = Math.abs(a.mean - prev.mean) <= a.std + prev.std;
          return `${overlap ? '≈' : spec.lowerIsBetter ? '<' : '>'} ${text}`;
        })
        .join(' ')
        .replace(/ ,/g, ',');
      const paper = spec.paper
        ? Object.entries(PAPER[spec.paper])
            .sort((a, b) => (a[1] ?? Infinity) - (b[1] ?? Infinity))
            .map(([arm, v]) => `${arm} ${v ?? 'diverges'}`)
            .join(' < ')
        : '–';
      lines.push(`| ${spec.metric} | ${cell} | ${paper} |`);
    }
    lines.push('');
    // Paired by seed: within a seed every arm fine-tunes on the same batches, (t, r) pairs, noise and
    // dropout masks, so arm − scratch at the same seed removes most of the seed-to-seed spread.
    const paired = selected.filter((spec) => !probeMetric(spec.metric));
    const seedsOf = (arm, metric) => new Map(rows.filter((r) => r.dataset === dataset && r.metric === metric && r.arm === arm).map((r) => [r.seed, r.v]));
    const pairRows = [];
    for (const spec of paired) {
      const base = seedsOf('scratch', spec.metric);
      for (const arm of [...new Set(rows.filter((r) => r.dataset === dataset && r.metric === spec.metric).map((r) => r.arm))].filter((a) => a !== 'scratch')) {
        const mine = seedsOf(arm, spec.metric);
        const diffs = [...mine.keys()].filter((k) => base.has(k)).sort((a, b) => a - b).map((k) => ({ seed: k, d: mine.get(k) - base.get(k) }));
        if (!diffs.length) continue;
        const better = diffs.filter((x) => (spec.lowerIsBetter ? x.d < 0 : x.d > 0)).length;
        pairRows.push(`| ${spec.metric.split(',')[0]} | ${arm} | ${diffs.map((x) => `s${x.seed}: ${x.d >= 0 ? '+' : ''}${f(x.d, 3)}`).join(', ')} | ${better} of ${diffs.length} |`);
      }
    }
    if (pairRows.length) lines.push(`### ${dataset}: each arm against scratch at the same seed`, '', 'Difference arm − scratch per seed (same fine-tuning batches, pairs, noise and masks within a seed), and in how many seeds the arm is the better one.', '', '| metric | arm | arm − scratch | arm better in |', '|---|---|---|---|', ...pairRows, '');
  }
  writeFileSync(join(out, 'ordering.md'), `${lines.join('\n')}\n`);
  process.stdout.write(`[study] orderings: ${join(out, 'ordering.md')}\n`);
}

const o = options(process.argv.slice(2));
const all = cells(o);
if (o.command === 'status') {
  for (const c of all) process.stdout.write(`${status(c).padEnd(8)} ${c.dir}  ${ARMS[c.arm].what}, ${c.dataset}, seed ${c.seed}\n`);
  const n = (s) => all.filter((c) => status(c) === s).length;
  process.stdout.write(`${n('done')} done, ${n('finished')} finished (not yet archived: \`run\` archives them), ${n('partial')} partial, ${n('missing')} missing of ${all.length} runs\n`);
} else if (o.command === 'run') {
  ensureBuilt();
  for (const [i, c] of all.entries()) {
    const s = status(c);
    if (s === 'done') continue;
    if (s === 'finished') {
      archive(c); // finished before records existed, or the archive was interrupted
      continue;
    }
    if (!lock(c)) {
      process.stdout.write(`[study] skipping ${c.dir}: another driver is running it\n`);
      continue;
    }
    process.stdout.write(`[study] run ${i + 1}/${all.length}: ${c.dataset}, ${ARMS[c.arm].what}, seed ${c.seed} (${s})\n`);
    const config = readJson(join(c.dir, 'config.json'));
    const objectives = config ? ['consistency', 'diffusion'].filter((ob) => config[ob] !== null) : [];
    if (!config || !objectives.every((ob) => existsSync(join(c.dir, 'eval', `fid-${ob}.json`)))) node(TRAIN, trainArgs(c));
    if (!existsSync(join(c.dir, 'eval', 'probe.json'))) node(EVAL, ['probe', '--run', c.dir, '--sigmas', PROBE_SIGMAS]);
    archive(c);
    unlock(c);
  }
  const left = all.filter((c) => status(c) !== 'done').length;
  process.stdout.write(left ? `[study] ${left} runs not done (held by other drivers)\n` : `[study] all ${all.length} runs done; next: node tooling/scripts/study.mjs report${o.steps === null ? '' : ` --steps ${o.steps}`} --datasets ${o.datasets.join(',')} --seeds ${o.seeds.join(',')} --arms ${o.arms.join(',')} --out ${o.out}\n`);
} else {
  const done = all.filter((c) => status(c) === 'done');
  if (done.length === 0) fail(`no finished run recorded under ${o.records}: run the study first`);
  ensureBuilt();
  // From the records: they hold everything the report reads and survive the run directories.
  node(EVAL, ['report', ...done.flatMap((c) => ['--run', c.record]), '--out', o.out]);
  writeOrdering(o.out);
}
