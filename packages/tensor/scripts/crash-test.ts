// SIGKILL crash test for checkpoints (issue 11). Run from packages/tensor:
//   npx tsx scripts/crash-test.ts [--trials 50] [--mb 56] [--dir /tmp/x]
// Phase 1: `trials` child processes each resume from the latest checkpoint and save a `mb` MiB
// checkpoint (model, EMA, AdamW m and v) in a loop; each is SIGKILLed at a random moment (seeded).
// Phase 2: for every file operation k of a save, a child SIGKILLs itself just before operation k.
// After every kill: the latest checkpoint must load, hold the last acknowledged step or the one being
// saved, with every value of that step (never a mix), and the next completed save must leave no
// temp file. Exit code 0 when every check held. Prints the figures.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { RandomStream, readCheckpoint } from '../src/index';
import { fillFor } from './crash-values';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const trials = Number(opt('trials', '50'));
const mb = Number(opt('mb', '56'));
const dir = opt('dir', mkdtempSync(join(tmpdir(), 'epg-crash-test-')));
const base = join(dir, 'ckpt');
const rs = RandomStream.fromSeed(11);
const child = join(__dirname, 'crash-child.ts');

interface Run {
  acked: number[];
  tempsAfterSave: number[];
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Starts a child; `killAfterMs(firstSaveMs)` decides when to kill it (undefined: it kills itself). */
function runChild(env: Record<string, string>, killAfterMs?: (saveMs: number) => number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, base, String(mb)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const run: Run = { acked: [], tempsAfterSave: [], code: null, signal: null };
    let buf = '';
    let readyAt = 0;
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (line[0] === 'ready') readyAt = Date.now();
        if (line[0] === 'saved') {
          run.acked.push(Number(line[1]));
          run.tempsAfterSave.push(Number(line[2]));
          // Kill at a random moment of the following saves, once one save's duration is known.
          if (run.acked.length === 1 && killAfterMs) setTimeout(() => p.kill('SIGKILL'), killAfterMs(Date.now() - readyAt));
        }
      }
    });
    // 'close', not 'exit': every line the child wrote before dying has been read by then.
    p.on('close', (code, signal) => resolve({ ...run, code, signal }));
  });
}

function check(label: string, lastAcked: number, run: Run, failures: string[]): { step: number; temps: number } {
  const temps = readdirSync(dir).filter((f) => f.endsWith('.tmp')).length;
  if (run.signal !== 'SIGKILL') failures.push(`${label}: child ended with code ${run.code}, not by SIGKILL`);
  if (run.tempsAfterSave.some((t) => t !== 0)) failures.push(`${label}: temp files outlived a completed save (${run.tempsAfterSave})`);
  const r = readCheckpoint(base);
  if (E.isLeft(r)) {
    failures.push(`${label}: latest does not load: ${r.left.message}`);
    return { step: -1, temps };
  }
  const step = r.right.sidecar.step;
  const acked = run.acked.length ? run.acked[run.acked.length - 1] : lastAcked;
  if (step !== acked && step !== acked + 1) failures.push(`${label}: latest is step ${step}, expected ${acked} or ${acked + 1}`);
  const want: Record<string, number> = { 'model.w': fillFor('model', step), 'ema.w': fillFor('ema', step), 'optimizer.m.w': fillFor('m', step), 'optimizer.v.w': fillFor('v', step) };
  for (const [name, value] of Object.entries(want)) {
    const t = r.right.tensors.get(name);
    if (!t || t.data.some((x) => x !== value)) failures.push(`${label}: tensor ${name} of step ${step} is not all ${value}`);
  }
  if (r.right.sidecar.optimizer?.step !== step) failures.push(`${label}: optimizer step ${r.right.sidecar.optimizer?.step} != ${step}`);
  return { step, temps };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const failures: string[] = [];
  let last = -1;
  const outcomes = { previous: 0, next: 0 };
  let maxTemps = 0;
  let savesBeforeKill = 0;
  console.log(`crash test: ${trials} random SIGKILLs of a ${mb} MiB save loop in ${dir}`);
  for (let t = 0; t < trials; t++) {
    const run = await runChild({}, (saveMs) => rs.uniform() * 2.5 * saveMs);
    savesBeforeKill += run.acked.length;
    const acked = run.acked.length ? run.acked[run.acked.length - 1] : last;
    const { step, temps } = check(`trial ${t}`, last, run, failures);
    if (step === acked) outcomes.previous++;
    else outcomes.next++;
    maxTemps = Math.max(maxTemps, temps);
    last = step;
  }
  const phase1 = (Date.now() - t0) / 1000;
  console.log(
    `phase 1: ${trials} kills in ${phase1.toFixed(0)} s; ${savesBeforeKill} completed saves; latest = last acknowledged save in ${outcomes.previous}, the save in flight in ${outcomes.next}; at most ${maxTemps} temp files between kill and next save`,
  );
  // Phase 2: a real SIGKILL before each file operation of one save, until a save completes.
  let k = 0;
  const t1 = Date.now();
  for (; ; k++) {
    const run = await runChild({ KILL_AT: String(k) });
    if (run.signal !== 'SIGKILL') break; // k is past the last operation: the save completed
    const { step } = check(`kill before operation ${k}`, last, run, failures);
    last = step;
  }
  console.log(`phase 2: SIGKILL before each of the ${k} file operations of a save (${((Date.now() - t1) / 1000).toFixed(0)} s)`);
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; ${failures.length} failures`);
  for (const f of failures.slice(0, 20)) console.log(`  FAIL ${f}`);
  if (!args.includes('--dir')) rmSync(dir, { recursive: true, force: true });
  process.exit(failures.length ? 1 : 0);
}

void main();
