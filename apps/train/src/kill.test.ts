// Crash safety of epg-train as a process: SIGKILL in the middle of a training run, and SIGKILL at
// each moment of a checkpoint write (made deterministic by @epg/tensor's test-only
// EPG_TEST_CHECKPOINT_PAUSE hook), then `--resume`: the final checkpoints equal those of an
// uninterrupted run bit for bit. The child trains on cpu with the native kernels, or on wasm where
// they are absent (childBackend); both are deterministic, so the comparison is exact on either.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { readRecords } from '@epg/runs';
import { CHECKPOINT_PAUSE_PHASES, generationPaths, orThrow, readCheckpoint, type CheckpointPausePhase } from '@epg/tensor';
import { checkpointBase, type StageName } from './stages/common';
import { assertBuilt, childBackend, sets, startCli, type CliResult } from './__fixtures__/cli-process';

const tmp = () => mkdtempSync(join(tmpdir(), 'epg-kill-'));
const STEPS = 16;
const EVERY = 4;
/** Chosen in beforeAll, once the jest process's own backend (and native kernels) are set up. */
let BACKEND: 'cpu' | 'wasm';
/** Pre-training and CM fine-tuning only, 16 steps of 8 images each, checkpoints every 4 steps. */
const TINY = () => [
  ...sets(`pretrain.steps=${STEPS}`, 'pretrain.batch=8', `consistency.steps=${STEPS}`, 'consistency.batch=8', 'data.limit=256', `checkpoint.every=${EVERY}`),
  '--backend', BACKEND,
];
const COMMANDS: Record<'pretrain' | 'consistency', string[]> = { pretrain: ['pretrain'], consistency: ['finetune', '--objective', 'consistency'] };

const train = (dir: string, stage: 'pretrain' | 'consistency', resume: boolean, env: Record<string, string> = {}, extra: string[] = []) =>
  startCli([...COMMANDS[stage], '--run', dir, ...(resume ? ['--resume'] : []), ...TINY(), ...extra], env);

function expectOk(r: CliResult): void {
  if (r.code !== 0) throw new Error(`the CLI failed (code ${r.code}, signal ${r.signal}):\n${r.stderr.join('\n')}`);
}

/** The latest checkpoint of a stage: its step, optimiser step and every tensor's bytes by name. */
function finalCheckpoint(dir: string, stage: StageName) {
  const ck = orThrow(readCheckpoint(checkpointBase(dir, stage)));
  const tensors = new Map([...ck.tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
  return { step: ck.sidecar.step, optimizerStep: ck.sidecar.optimizer?.step, sha256: ck.sidecar.tensors.sha256, tensors };
}

function expectSameCheckpoint(dir: string, reference: string, stage: StageName, sections: string[], steps = STEPS): void {
  const a = finalCheckpoint(dir, stage);
  const b = finalCheckpoint(reference, stage);
  expect(a.step).toBe(steps);
  expect([a.step, a.optimizerStep]).toEqual([b.step, b.optimizerStep]);
  expect([...a.tensors.keys()].sort()).toEqual([...b.tensors.keys()].sort());
  // Every section the stage saves is there, the optimiser's moments included.
  for (const s of sections) expect([...a.tensors.keys()].some((k) => k.startsWith(`${s}.`))).toBe(true);
  const differing = [...a.tensors].filter(([name, bytes]) => !bytes.equals(b.tensors.get(name)!)).map(([name]) => name);
  expect(differing).toEqual([]);
  expect(a.sha256).toBe(b.sha256);
}

const SECTIONS: Record<'pretrain' | 'consistency', string[]> = { pretrain: ['model', 'target', 'optimizer'], consistency: ['model', 'optimizer'] };
/** Steps logged in metrics.jsonl for a stage (a torn last line is dropped by readRecords). */
const loggedSteps = (dir: string, stage: string) => {
  const r = readRecords(join(dir, 'metrics.jsonl'));
  return E.isRight(r) ? r.right.filter((x) => x.phase === stage).map((x) => x.step) : [];
};
const metricKeys = (dir: string) => orThrow(readRecords(join(dir, 'metrics.jsonl'))).map((r) => `${r.phase}:${r.step}:${r.values.loss}`);

const reference = tmp();
beforeAll(async () => {
  assertBuilt();
  BACKEND = childBackend();
  const t0 = performance.now();
  expectOk(await train(reference, 'pretrain', false).done);
  expectOk(await train(reference, 'consistency', true).done);
  console.log(`uninterrupted reference run on ${BACKEND}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 300_000);

describe('SIGKILL during training, then --resume', () => {
  it('ends with pre-training and CM checkpoints (weights, target, optimiser) bitwise equal to an uninterrupted run', async () => {
    const cut = tmp();
    for (const [i, stage] of (['pretrain', 'consistency'] as const).entries()) {
      const run = train(cut, stage, i > 0);
      // Kill once two steps past the second checkpoint are logged: their work is lost and redone.
      const killAt = 2 * EVERY + 2;
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          if (loggedSteps(cut, stage).length >= killAt) {
            clearInterval(poll);
            run.child.kill('SIGKILL');
            resolve();
          }
        }, 5);
        void run.done.then((r) => {
          clearInterval(poll);
          if (r.signal !== 'SIGKILL') reject(new Error(`the ${stage} run ended (code ${r.code}) before it was killed:\n${r.stderr.join('\n')}`));
        });
      });
      const killed = await run.done;
      expect(killed.signal).toBe('SIGKILL');
      const before = finalCheckpoint(cut, stage).step;
      expect(before).toBeGreaterThanOrEqual(2 * EVERY);
      expect(before).toBeLessThan(STEPS);
      expect(Math.max(...loggedSteps(cut, stage))).toBeGreaterThanOrEqual(before); // steps past the checkpoint were logged
      const resumed = await train(cut, stage, true).done;
      expectOk(resumed);
      expect(resumed.stdout).toContain(`${stage}: resuming at step ${before}/${STEPS}`);
      expectSameCheckpoint(cut, reference, stage, SECTIONS[stage]);
    }
    // Each (stage, step) is logged once, with the uninterrupted run's loss.
    expect(metricKeys(cut)).toEqual(metricKeys(reference));
    expect(metricKeys(cut)).toHaveLength(2 * STEPS);
  }, 300_000);
});

describe('SIGKILL inside a checkpoint write, then --resume', () => {
  // Pre-training only, shorter: 8 steps, checkpoints every 2; the kill lands in the second save
  // (step 4), and the first (step 2) is the previous checkpoint.
  const P_STEPS = 8;
  const P_EVERY = 2;
  const PAUSE_STEP = 2 * P_EVERY;
  const SHORT = sets(`pretrain.steps=${P_STEPS}`, `checkpoint.every=${P_EVERY}`);
  const shortRef = tmp();
  beforeAll(async () => expectOk(await train(shortRef, 'pretrain', false, {}, SHORT).done), 120_000);
  /** What must be on disk when the kill lands: the file being written (a temp or a generation). */
  const inFlight: Record<CheckpointPausePhase, RegExp> = {
    'tensors-partial': /^ckpt\.g000002\.safetensors\.\d+\.tmp$/,
    'tensors-written': /^ckpt\.g000002\.safetensors$/,
    'sidecar-partial': /^ckpt\.g000002\.json\.\d+\.tmp$/,
    'sidecar-written': /^ckpt\.g000002\.json$/,
    'latest-partial': /^ckpt\.json\.\d+\.tmp$/,
    switched: /^ckpt\.g000002\.json$/,
  };

  it.each(CHECKPOINT_PAUSE_PHASES.map((p) => [p]))('killed at %s: the previous checkpoint loads, and the resumed run equals the uninterrupted one', async (phase) => {
    const cut = tmp();
    const run = train(cut, 'pretrain', false, { EPG_TEST_CHECKPOINT_PAUSE: `${phase}@${PAUSE_STEP}` }, SHORT);
    await run.waitForLine(new RegExp(`^\\[epg-test\\] checkpoint paused at ${phase}, step ${PAUSE_STEP}$`));
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    const base = checkpointBase(cut, 'pretrain');
    const files = readdirSync(join(cut, 'checkpoints', 'pretrain'));
    expect(files.some((f) => inFlight[phase].test(f))).toBe(true);
    // Until the switch, "latest" is the previous checkpoint (step 2); after it, the new one (step 4),
    // and the previous generation is still complete on disk.
    const latest = readCheckpoint(base);
    expect(E.isRight(latest)).toBe(true);
    expect(E.isRight(latest) && latest.right.sidecar.step).toBe(phase === 'switched' ? PAUSE_STEP : P_EVERY);
    const previous = readCheckpoint(base, { generation: 1 });
    expect(E.isRight(previous) && previous.right.sidecar.step).toBe(P_EVERY);
    expect(existsSync(generationPaths(base, 1).tensors)).toBe(true);

    const resumed = await train(cut, 'pretrain', true, {}, SHORT).done;
    expectOk(resumed);
    expect(resumed.stdout).toContain(`pretrain: resuming at step ${phase === 'switched' ? PAUSE_STEP : P_EVERY}/${P_STEPS}`);
    expectSameCheckpoint(cut, shortRef, 'pretrain', SECTIONS.pretrain, P_STEPS);
    // No temp file of the killed save survives the resumed run's saves.
    expect(readdirSync(join(cut, 'checkpoints', 'pretrain')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const pretrainKeys = (d: string) => metricKeys(d).filter((k) => k.startsWith('pretrain:'));
    expect(pretrainKeys(cut)).toEqual(pretrainKeys(shortRef));
    expect(pretrainKeys(cut)).toHaveLength(P_STEPS);
    expect(readFileSync(join(cut, 'config.json'), 'utf8')).toBe(readFileSync(join(shortRef, 'config.json'), 'utf8'));
  }, 120_000);
});
