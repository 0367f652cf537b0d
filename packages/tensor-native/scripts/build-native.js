#!/usr/bin/env node
// Builds the optional native addon (native/kernels.c + OpenBLAS) with npm's bundled node-gyp and
// copies it to dist/native/. It never fails the build: without a C compiler, OpenBLAS headers or
// node-gyp it prints one line and exits 0, and the package then keeps tfjs's stock kernels.
//   --verbose               print the compiler output
//   EPG_NATIVE_BUILD=0      skip the native build
//   EPG_NATIVE_REQUIRED=1   exit 1 when the addon cannot be built or loaded (CI with OpenBLAS installed)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const addonName = 'epg_tensor_native.node';
const distDir = path.join(pkgDir, 'dist', 'native');
const verbose = process.argv.includes('--verbose');
const required = process.env.EPG_NATIVE_REQUIRED === '1';
const HINT = 'install a C compiler and OpenBLAS (Debian: apt-get install -y build-essential libopenblas-dev), then `pnpm --filter @epg/tensor-native build`';

const target = path.join(distDir, addonName);

// The addon in dist/ is replaced atomically (written beside it, loaded once, then renamed over it),
// never removed first: a process that starts while a rebuild runs (a second study driver, say) finds
// either the old addon or the new one, and processes already running keep the file they mapped. It is
// removed only when this build ends without a working addon, so a stale one never outlives its source.
function done(ok, line) {
  if (!ok) fs.rmSync(target, { force: true });
  console.log(`[@epg/tensor-native] ${line}`);
  process.exit(!ok && required ? 1 : 0);
}

if (process.env.EPG_NATIVE_BUILD === '0') done(false, 'native addon skipped (EPG_NATIVE_BUILD=0); stock tfjs kernels will be used.');

// One build at a time per checkout: two node-gyp runs in native/build (two study drivers starting
// together) break each other, and the loser would remove the winner's addon. A build that finds the
// lock held by a live process waits for it (up to 5 minutes), then builds again, which is cheap and
// atomic; a lock left by a dead process is taken over.
const lockPath = path.join(pkgDir, 'native', '.build.lock');
function acquireLock() {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      process.on('exit', () => fs.rmSync(lockPath, { force: true }));
      return true;
    } catch (e) {
      if (e.code !== 'EEXIST') return false;
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(lockPath, 'utf8'));
      process.kill(holder, 0);
    } catch {
      fs.rmSync(lockPath, { force: true }); // unreadable or its process is gone
      continue;
    }
    if (Date.now() > deadline) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
}
if (!acquireLock()) done(false, `native addon not built: another build held ${lockPath} for 5 minutes; run the build again.`);

// node-gyp: the one npm ships (npm sets npm_config_node_gyp when it runs scripts), else next to node.
const prefix = path.dirname(path.dirname(process.execPath));
const gypCandidates = [
  process.env.npm_config_node_gyp,
  path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && fs.existsSync(p));
try {
  gypCandidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
} catch {
  /* not installed locally: fine */
}
if (gypCandidates.length === 0) done(false, `native addon not built: node-gyp not found (it ships with npm); ${HINT}.`);

// Node's headers: use the ones installed with node (offline); otherwise node-gyp's cache or download.
const nativeDir = path.join(pkgDir, 'native');
const args = [gypCandidates[0], 'rebuild', '--directory', nativeDir];
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', timeout: 180_000 });
const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (verbose) process.stdout.write(log);
if (r.status !== 0) {
  const why =
    r.error?.message ??
    log.split('\n').find((l) => /error|fatal|not found|No such file/i.test(l) && !/^gyp (info|ERR! (stack|System|command|cwd|node|not ok))/.test(l)) ??
    `node-gyp exited with ${r.status}`;
  done(false, `native addon not built (${why.trim().slice(0, 200)}); stock tfjs kernels will be used. To build it: ${HINT}.`);
}
const built = path.join(nativeDir, 'build', 'Release', addonName);
fs.mkdirSync(distDir, { recursive: true });
const staged = `${target}.tmp-${process.pid}.node`;
fs.copyFileSync(built, staged);

// Load it once in a child process: a missing libopenblas.so at run time shows up here, not in a test.
const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(staged)}); console.log(a.blasConfig())`], {
  encoding: 'utf8',
  timeout: 60_000,
});
if (check.status === 0) fs.renameSync(staged, target);
else {
  fs.rmSync(staged, { force: true });
  const why = (check.stderr || '').split('\n').find((l) => l.trim()) ?? `exit ${check.status}`;
  done(false, `native addon built but does not load (${why.trim().slice(0, 200)}); stock tfjs kernels will be used.`);
}
done(true, `native addon built: dist/native/${addonName} (${check.stdout.trim()})`);
