#!/usr/bin/env node
// `pnpm test`: lint, typecheck and every package's jest suite through turbo, then one total line
// ("tests: N passed, N failed") so the result is readable without scrolling through each package.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const groups = ['packages', 'apps', 'tooling'];
const resultFiles = () =>
  groups.flatMap((g) =>
    existsSync(join(root, g))
      ? readdirSync(join(root, g)).map((d) => ({ name: `${g}/${d}`, file: join(root, g, d, '.jest-results.json') }))
      : [],
  );
for (const { file } of resultFiles()) rmSync(file, { force: true });

// The citation check first (docs/architecture.md, "Citations"): its own test, then the repository.
const node = (script, extra = []) => spawnSync(process.execPath, [...extra, join(root, 'tooling', 'scripts', script)], { cwd: root, stdio: 'inherit' });
const citationTest = node('check-citations.test.mjs', ['--test']);
const citationCheck = node('check-citations.mjs');
const citationsOk = citationTest.status === 0 && citationCheck.status === 0;

const args = ['turbo', 'run', 'lint', 'typecheck', 'test', ...process.argv.slice(2)];
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const run = spawnSync('pnpm', ['exec', ...args], { cwd: root, stdio: 'inherit', env });

let passed = 0, failed = 0, skipped = 0;
const lines = [];
// A suite that never wrote its results did not pass: turbo killed by a signal (or the OOM killer
// taking a jest run) can still exit 0 with the suites done so far. On a full run (no turbo
// arguments) every package with a test script must have written results for each backend it lists.
const missing = [];
for (const { name, file } of resultFiles()) {
  const pkgJson = join(root, name, 'package.json');
  const script = existsSync(pkgJson) ? JSON.parse(readFileSync(pkgJson, 'utf8')).scripts?.test : undefined;
  const backends = /--backends\s+(\S+)/.exec(script ?? '')?.[1].split(',') ?? [];
  const runs = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).runs : [];
  if (script && process.argv.length === 2) {
    if (!existsSync(file)) missing.push(`${name} (no results)`);
    else for (const b of backends) if (!runs.some((r) => r.backend === b)) missing.push(`${name} (no ${b} run)`);
  }
  for (const r of runs) {
    passed += r.passed; failed += r.failed; skipped += r.skipped;
    lines.push(`  ${name.padEnd(28)} ${String(r.backend).padEnd(8)} ${r.passed} passed, ${r.failed} failed`);
  }
}
console.log('\nTest summary by package and backend:');
console.log(lines.join('\n'));
console.log(`citation check: ${citationsOk ? 'passed' : 'FAILED (see the top of the output)'}`);
if (missing.length) console.log(`suites without results: ${missing.join(', ')}: they did not finish (killed?); run \`pnpm test\` again`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status === 0 && run.signal === null && failed === 0 && missing.length === 0 && citationsOk ? 0 : 1);
