import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useTrainingBackend } from './__fixtures__/backend';
import { main, type CliHooks } from './cli';
import { checkpointBase } from './stages/common';
import { readRecords } from '@epg/runs';
import { orThrow, readCheckpoint } from '@epg/tensor';

/** Runs the CLI in-process, capturing its lines. */
async function cli(argv: string[], hooks: CliHooks = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, { skipBackend: true, progressMs: 1e9, ...hooks });
  return { code, out, err };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'epg-train-'));
/** A config small enough for a unit test: 6 steps of 8 images from the first 256, checkpoints every 2, evaluation EMAs on. */
const TINY = [
  'pretrain.steps=6', 'pretrain.batch=8', 'consistency.steps=6', 'consistency.batch=8', 'diffusion.steps=6', 'diffusion.batch=8',
  'data.limit=256', 'checkpoint.every=2', 'consistency.ema=0.9', 'diffusion.ema=0.9',
].flatMap((s) => ['--set', s]);

const sha = (dir: string, stage: 'pretrain' | 'consistency' | 'diffusion') => {
  const sc = JSON.parse(readFileSync(`${checkpointBase(dir, stage)}.json`, 'utf8')) as { step: number; tensors: { sha256: string } };
  return { step: sc.step, sha: sc.tensors.sha256 };
};

// Without native kernels the training tests below run on wasm (stock cpu kernels are ~20× slower).
useTrainingBackend();
// A hang guard, not a speed target: the resume test took 40 s with native kernels, 56 s on wasm, on a busy 2-core machine.
jest.setTimeout(240_000);

describe('epg-train CLI', () => {
  it('--dry-run prints the resolved config and touches nothing', async () => {
    const d = join(tmp(), 'run');
    const r = await cli(['all', '--dry-run', '--run', d, '--set', 'pretrain.steps=3', '--variant', 'no-aux-loss']);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.out.join('\n'));
    expect(cfg.preset).toBe('mnist-quick');
    expect(cfg.model.preset).toBe('cpu-micro-mnist');
    expect(cfg.pretrain.steps).toBe(3);
    expect(cfg.consistency.auxWeight).toBe(0);
    expect(cfg.variants).toEqual(['no-aux-loss']);
    expect(existsSync(d)).toBe(false);
  });

  const started = tmp();
  beforeAll(async () => {
    const r = await cli(['pretrain', '--run', started, ...TINY, '--set', 'pretrain.steps=2']);
    expect(r.code).toBe(0);
  });

  it.each<[string, string[], RegExp]>([
    ['unknown preset', ['all', '--preset', 'mnist-huge'], /^error: unknown preset 'mnist-huge': use one of mnist-quick/],
    ['bad --set value', ['all', '--set', 'pretrain.batch=many'], /^error: config field pretrain.batch is "many": expected an integer >= 1/],
    ['unknown --set field', ['all', '--set', 'pretrain.stepz=3'], /^error: --set pretrain.stepz: 'stepz' is not a field of pretrain/],
    ['lr <= 0', ['all', '--set', 'diffusion.lr=0'], /^error: config field diffusion.lr is 0: expected a finite number > 0/],
    ['batch 0', ['all', '--set', 'consistency.batch=0'], /^error: config field consistency.batch is 0: expected an integer >= 1/],
    ['steps < 1', ['all', '--set', 'pretrain.steps=0'], /^error: config field pretrain.steps is 0: expected an integer >= 1/],
    ['a 1-step pre-training', ['all', '--set', 'pretrain.steps=1'], /^error: config field pretrain.steps is refused by its schedule \(totalSteps passed to scaleStepConstants must be an integer >= 2, got 1\)/],
    ['unknown model preset', ['all', '--set', 'model.preset=vit-huge'], /^error: config field model.preset is 'vit-huge': not a model preset: use one of cpu-micro-mnist/],
    ['unknown command', ['train'], /^error: unknown command 'train'/],
    ['finetune without objective', ['finetune'], /^error: finetune needs --objective diffusion or --objective consistency/],
    ['missing config file', ['all', '--config', '/nonexistent/x.json'], /^error: cannot read config file \/nonexistent\/x.json \(ENOENT\)/],
    ['resume of a directory that is not a run', ['all', '--resume', '--run', '@EMPTY'], /^error: cannot resume .*: it has no config.json/],
    ['existing run dir without --resume', ['pretrain', '--run', '@STARTED', ...TINY], /already holds files: pass --resume to continue that run, or choose another --run/],
    ['resume with another config', ['pretrain', '--run', '@STARTED', '--resume', ...TINY, '--set', 'pretrain.steps=3'], /^error: cannot resume .*started with another config \(pretrain.steps: 2 → 3\)/],
  ])('bad input: %s → one line, exit 1, nothing written', async (_name, argv, re) => {
    const empty = tmp();
    const fresh = join(tmp(), 'run');
    const before = readdirSync(started).sort();
    const beforeCfg = readFileSync(join(started, 'config.json'), 'utf8');
    const args = argv.map((a) => (a === '@STARTED' ? started : a === '@EMPTY' ? empty : a));
    if (!args.includes('--run')) args.push('--run', fresh);
    const r = await cli(args);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(re);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
    expect(readdirSync(started).sort()).toEqual(before);
    expect(readFileSync(join(started, 'config.json'), 'utf8')).toBe(beforeCfg);
  });

  it('a config file works like a preset', async () => {
    const d = tmp();
    const dry = await cli(['all', '--dry-run']);
    const file = join(d, 'cfg.json');
    writeFileSync(file, dry.out.join('\n'));
    const r = await cli(['all', '--dry-run', '--config', file, '--set', 'seed=4']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.join('\n')).seed).toBe(4);
  });

  it('a killed run resumed with --resume ends bitwise equal to an uninterrupted one (pretrain, consistency, diffusion)', async () => {
    const whole = tmp();
    const cut = tmp();
    const run = (dir: string, cmd: string[], resume: boolean, hooks: CliHooks = {}) => cli([...cmd, '--run', dir, ...(resume ? ['--resume'] : []), ...TINY], hooks);
    // Uninterrupted.
    for (const [i, cmd] of [['pretrain'], ['finetune', '--objective', 'consistency'], ['finetune', '--objective', 'diffusion']].entries()) {
      expect((await run(whole, cmd, i > 0)).code).toBe(0);
    }
    // Killed after step 5 of each stage (last checkpoint at step 4, steps 4..5 logged but lost), then resumed.
    for (const [i, [stage, cmd]] of ([['pretrain', ['pretrain']], ['consistency', ['finetune', '--objective', 'consistency']], ['diffusion', ['finetune', '--objective', 'diffusion']]] as const).entries()) {
      const killed = await run(cut, [...cmd], i > 0, { stopAfter: { stage, step: 5 } });
      expect(killed.code).toBe(0);
      expect(sha(cut, stage).step).toBe(4);
      const resumed = await run(cut, [...cmd], true);
      expect(resumed.code).toBe(0);
      expect(resumed.out.join('\n')).toContain(`${stage}: resuming at step 4/6`);
      expect(sha(cut, stage)).toEqual(sha(whole, stage));
    }
    // Metrics: each (stage, step) once, equal to the uninterrupted run's.
    const key = (dir: string) => orThrow(readRecords(join(dir, 'metrics.jsonl'))).map((r) => `${r.phase}:${r.step}:${r.values.loss}`);
    expect(key(cut)).toEqual(key(whole));
    expect(key(cut)).toHaveLength(18);
  });

  it('tensor count stays flat over the steps of each stage', async () => {
    const d = tmp();
    const counts: Record<string, number[]> = {};
    const onStep = (stage: string) => (counts[stage] ??= []).push(tf.memory().numTensors);
    for (const [i, cmd] of [['pretrain'], ['finetune', '--objective', 'consistency'], ['finetune', '--objective', 'diffusion']].entries()) {
      expect((await cli([...cmd, '--run', d, ...(i > 0 ? ['--resume'] : []), ...TINY], { onStep })).code).toBe(0);
    }
    for (const stage of ['pretrain', 'consistency', 'diffusion']) {
      const c = counts[stage];
      expect(c).toHaveLength(6);
      // After the first step (optimiser moments are created lazily) the count never moves.
      expect(new Set(c.slice(1)).size).toBe(1);
    }
  });

  it('the evaluation EMA follows the trained weights: decay 0 copies them, decay 0.9 lags behind', async () => {
    const sections = (dir: string) => {
      const ck = orThrow(readCheckpoint(checkpointBase(dir, 'diffusion')));
      const pick = (prefix: string) => new Map([...ck.tensors].filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), Array.from(t.data as Float32Array)]));
      return { model: pick('model.'), ema: pick('ema.') };
    };
    for (const [decay, equal] of [[0, true], [0.9, false]] as const) {
      const d = tmp();
      const r = await cli(['finetune', '--objective', 'diffusion', '--run', d, ...TINY, '--set', 'pretrain=null', '--set', `diffusion.ema=${decay}`]);
      expect(r.code).toBe(0);
      const { model, ema } = sections(d);
      expect([...ema.keys()].sort()).toEqual([...model.keys()].sort());
      expect(model.size).toBeGreaterThan(10);
      const same = [...model].every(([n, v]) => v.every((x, i) => x === ema.get(n)![i]));
      expect(same).toBe(equal);
    }
  });

  it("diffusion.loss switches the σ distribution and weights ('epg' vs 'edm' give other losses on the same batches)", async () => {
    const losses = async (loss: string) => {
      const d = tmp();
      const r = await cli(['finetune', '--objective', 'diffusion', '--run', d, ...TINY, '--set', 'pretrain=null', '--set', 'diffusion.steps=2', '--set', `diffusion.loss=${loss}`]);
      expect(r.code).toBe(0);
      return orThrow(readRecords(join(d, 'metrics.jsonl'))).map((x) => x.values.loss);
    };
    const [epg, edm] = [await losses('epg'), await losses('edm')];
    expect(epg).toHaveLength(2);
    expect(edm[0]).not.toBeCloseTo(epg[0], 3);
    expect((await cli(['all', '--dry-run', '--set', 'diffusion.loss=vlb'])).err[0]).toMatch(/^error: config field diffusion.loss is "vlb": expected one of 'epg', 'edm'/);
  });

  it('grids of the current weights are written during fine-tuning (eval.gridEvery) and leave training unchanged', async () => {
    const quick = ['--set', 'pretrain=null', '--set', 'eval.gridSize=4', '--set', 'eval.heunSteps=2'];
    for (const objective of ['consistency', 'diffusion'] as const) {
      const withGrids = tmp();
      const without = tmp();
      const r = await cli(['finetune', '--objective', objective, '--run', withGrids, ...TINY, ...quick, '--set', 'eval.gridEvery=2']);
      expect(r.code).toBe(0);
      expect(readdirSync(join(withGrids, 'samples', 'progress')).sort()).toEqual([`${objective}-step2.png`, `${objective}-step4.png`]);
      expect((await cli(['finetune', '--objective', objective, '--run', without, ...TINY, ...quick, '--set', 'eval.gridEvery=null'])).code).toBe(0);
      expect(existsSync(join(without, 'samples', 'progress'))).toBe(false);
      expect(sha(withGrids, objective)).toEqual(sha(without, objective));
    }
  });
});
