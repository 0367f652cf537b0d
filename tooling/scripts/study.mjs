#!/usr/bin/env node
// The reproduction study's driver (docs/results.md): the grid of runs on MNIST and Fashion-MNIST,
// run one at a time with epg-train and epg-eval, resumable at any point, then one comparison report
// written by `epg-eval report` from the run directories (never typed by hand).
//
//   node tooling/scripts/study.mjs status  [--runs DIR] [--datasets mnist,fashion-mnist] [--seeds 0,1] [--arms a,b]
//   node tooling/scripts/study.mjs run     [same options]      # runs what is missing, resumes what is partial
//   node tooling/scripts/study.mjs report  [same options] --out docs/results/study
//   (every command also takes --records DIR, default docs/results/study/records)
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
// A finished cell is archived: its run directory without checkpoints/ (config, metrics, history, eval
// results, grids, curves: well under a megabyte) is copied to `<records>/<name>`, which is committed.
// A cell whose record exists is done even when its run directory is gone (a new machine), and the
// report is written from the records, so the committed report can always be regenerated.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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
        runs: { type: 'string', default: 'runs/study' },
        datasets: { type: 'string', default: 'mnist,fashion-mnist' },
        seeds: { type: 'string', default: '0,1' },
        arms: { type: 'string', default: Object.keys(ARMS).join(',') },
        out: { type: 'string', default: 'docs/results/study' },
        records: { type: 'string', default: 'docs/results/study/records' },
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
  return { command, runs: resolve(parsed.values.runs), datasets, seeds, arms, out: resolve(parsed.values.out), records: resolve(parsed.values.records) };
}

/** Every cell in run order: seed-major, then dataset, then arm. */
function cells(o) {
  return o.seeds.flatMap((seed) =>
    o.datasets.flatMap((dataset) =>
      o.arms.map((arm) => {
        const name = `${dataset}-${arm}-s${seed}`;
        return { seed, dataset, arm, dir: join(o.runs, name), record: join(o.records, name) };
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

/**
 * Copies a finished run directory, without its checkpoints, to the cell's record: first into a
 * temporary sibling, then renamed, so a record is either complete or absent.
 */
function archive(cell) {
  if (!finished(cell.dir)) fail(`${cell.dir} is not finished, so it is not archived: run the study again (it resumes)`);
  const tmp = `${cell.record}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(tmp), { recursive: true });
  const skip = join(cell.dir, 'checkpoints');
  cpSync(cell.dir, tmp, { recursive: true, filter: (src) => src !== skip && !src.startsWith(skip + sep) });
  rmSync(cell.record, { recursive: true, force: true });
  renameSync(tmp, cell.record);
  process.stdout.write(`[study] archived ${cell.dir} (without checkpoints) to ${relative(root, cell.record) || cell.record}\n`);
}

/** The cell's epg-train command; a resume repeats it with --resume (epg-train checks the config is the same). */
function trainArgs(cell) {
  const arm = ARMS[cell.arm];
  const resume = existsSync(join(cell.dir, 'config.json')) ? ['--resume'] : [];
  return ['all', '--preset', PRESET[cell.dataset], ...arm.variants.flatMap((v) => ['--variant', v]), ...[`seed=${cell.seed}`, ...arm.sets].flatMap((s) => ['--set', s]), '--run', cell.dir, ...resume];
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
  process.stdout.write(left ? `[study] ${left} runs not done (held by other drivers)\n` : `[study] all ${all.length} runs done; next: node tooling/scripts/study.mjs report --out ${o.out}\n`);
} else {
  const done = all.filter((c) => status(c) === 'done');
  if (done.length === 0) fail(`no finished run recorded under ${o.records}: run the study first`);
  ensureBuilt();
  // From the records: they hold everything the report reads and survive the run directories.
  node(EVAL, ['report', ...done.flatMap((c) => ['--run', c.record]), '--out', o.out]);
}
