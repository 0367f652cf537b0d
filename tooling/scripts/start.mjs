#!/usr/bin/env node
// `pnpm start`, the README's first command after the install: the embedded default of epg-ts, a
// complete small EPG pipeline on MNIST (epg-train's `mnist-quick` preset: pre-train → consistency and
// diffusion fine-tuning → one-step and Heun grids → domain FID → report), then the report's path.
//
// Before it trains, it makes sure the fast CPU path is there (docs/performance.md): when the native
// kernels of @epg/tensor-native are not built and this is Debian/Ubuntu, it installs OpenBLAS and a
// compiler with apt-get when it may (root, or sudo without a password; EPG_NO_APT=1 forbids it) and
// builds them; otherwise it prints the one command to run and the slower expected time on wasm.
//
// Arguments are passed to `epg-train all` (e.g. `pnpm start --variant scratch`). The default run
// directory is runs/mnist-quick-s0; without arguments, when it already holds a run, that run is resumed
// (a finished run is re-evaluated and its report rewritten).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addon = join(root, 'packages', 'tensor-native', 'dist', 'native', 'epg_tensor_native.node');
const APT_PACKAGES = ['build-essential', 'libopenblas-dev'];
const MANUAL = `sudo apt-get install -y ${APT_PACKAGES.join(' ')} && pnpm --filter @epg/tensor-native build`;
// Measured on a 2-core machine (docs/apps.md, "The README job"): minutes of `pnpm start` after install.
const MINUTES = { native: 3, wasm: 20 };

const say = (line) => process.stdout.write(`[start] ${line}\n`);
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
const quiet = (cmd, args) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
const has = (cmd) => quiet('sh', ['-c', `command -v ${cmd}`]).status === 0;

function buildNative() {
  return run('pnpm', ['--filter', '@epg/tensor-native', 'build']).status === 0 && existsSync(addon);
}

/** Native kernels: already built, built now (after apt when allowed), or a stated reason why not. */
function ensureNative() {
  if (process.env.EPG_BACKEND && process.env.EPG_BACKEND !== 'cpu') return `EPG_BACKEND=${process.env.EPG_BACKEND} chosen`;
  if (process.env.EPG_NATIVE === '0') return 'EPG_NATIVE=0 set';
  if (existsSync(addon)) return null;
  say('native CPU kernels (@epg/tensor-native) are not built; trying to build them');
  if (buildNative()) return null;
  if (!has('apt-get')) return 'no apt-get on this system (install a C compiler and OpenBLAS yourself)';
  if (process.env.EPG_NO_APT === '1') return 'EPG_NO_APT=1 set';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !isRoot && has('sudo') && quiet('sudo', ['-n', 'true']).status === 0;
  if (!isRoot && !sudo) return 'installing OpenBLAS needs root';
  say(`installing ${APT_PACKAGES.join(' ')} with apt-get (about a minute)`);
  const prefix = sudo ? ['sudo', '-n'] : [];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => run(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(sudo ? ['apt-get'] : []), ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', '--no-install-recommends', ...APT_PACKAGES]).status !== 0) {
    return 'apt-get failed';
  }
  return buildNative() ? null : 'the native build failed after installing OpenBLAS';
}

const why = ensureNative();
if (why === null) {
  say(`native kernels ready: the pipeline takes about ${MINUTES.native} minutes on 2 cores`);
} else {
  say(`native kernels unavailable (${why}): training runs on tfjs's wasm backend, about ${MINUTES.wasm} minutes on 2 cores.`);
  say(`for the ~10x faster path, stop now (Ctrl-C) and run: ${MANUAL}`);
}

if (run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=epg-train...', '--output-logs=errors-only'], { env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } }).status !== 0) {
  say('build failed (see above)');
  process.exit(1);
}

const extra = process.argv.slice(2);
const runDir = extra.length === 0 ? join('runs', 'mnist-quick-s0') : null; // with arguments, epg-train names the run
const args = [join(root, 'apps', 'train', 'dist', 'cli.js'), 'all', ...extra];
if (runDir !== null) {
  args.push('--run', runDir);
  if (existsSync(join(root, runDir, 'config.json')) && !extra.includes('--resume')) {
    say(`${runDir} already holds a run: resuming it (delete the directory for a fresh run)`);
    args.push('--resume');
  }
}
if (why !== null && !process.env.EPG_BACKEND) args.push('--backend', 'wasm');
const t0 = Date.now();
const r = run(process.execPath, args);
if (r.status === 0) say(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min (training and evaluation)`);
process.exit(r.status ?? 1);
