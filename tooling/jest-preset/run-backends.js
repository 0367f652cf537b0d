#!/usr/bin/env node
// Runs a package's jest suite once per tfjs backend: `epg-jest --backends cpu,wasm [jest args]`.
// EPG_BACKEND=<name> narrows it to that one backend; EPG_TEST_BACKENDS overrides the list.
// `cpu-stock` is the cpu backend with @epg/tensor-native's kernels turned off (EPG_NATIVE=0).
const { spawnSync } = require('node:child_process');

const argv = process.argv.slice(2);
let backends = ['cpu'];
const i = argv.indexOf('--backends');
if (i >= 0) { backends = argv[i + 1].split(','); argv.splice(i, 2); }
if (process.env.EPG_TEST_BACKENDS) backends = process.env.EPG_TEST_BACKENDS.split(',');
if (process.env.EPG_BACKEND) backends = [process.env.EPG_BACKEND];

const jest = require.resolve('jest/bin/jest');
let status = 0;
backends.forEach((backend, k) => {
  console.log(`\n== jest on backend '${backend}' ==`);
  const stock = backend === 'cpu-stock';
  const env = { ...process.env, EPG_BACKEND: stock ? 'cpu' : backend, EPG_TEST_LABEL: backend, EPG_JEST_APPEND: k > 0 ? '1' : '0' };
  if (stock) env.EPG_NATIVE = '0';
  const r = spawnSync(process.execPath, [jest, ...argv], { stdio: 'inherit', env });
  if (r.status !== 0) status = r.status ?? 1;
});
process.exit(status);
