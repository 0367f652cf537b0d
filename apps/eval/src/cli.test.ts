// epg-eval on a tiny run made by `epg-train all` (6 steps per stage on 256 images, 20 FID samples):
// each command, its agreement with what epg-train's evaluate stage wrote (one shared implementation),
// the comparison report's grouping and spread, and bad inputs (one line, exit 1).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStatistics, saveStatistics } from '@epg/metrics';
import { orThrow } from '@epg/tensor';
import { trainMain, type FidResult, type ProbeResultFile } from 'epg-train';
import { main, type CliHooks } from './cli';

async function cli(argv: string[], hooks: CliHooks = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, { skipBackend: true, ...hooks });
  return { code, out, err };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'epg-eval-'));
const TINY = [
  'pretrain.steps=6', 'pretrain.batch=8', 'consistency.steps=6', 'consistency.batch=8', 'diffusion.steps=6', 'diffusion.batch=8',
  'data.limit=256', 'checkpoint.every=3', 'eval.fidSamples=20', 'eval.gridSize=4', 'eval.heunSteps=2',
].flatMap((s) => ['--set', s]);
const json = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** A copy of the tiny run with its config edited (the run's files stay). */
function variantOf(run: string, edit: (cfg: Record<string, unknown>) => void): string {
  const d = join(tmp(), 'run');
  cpSync(run, d, { recursive: true });
  const cfg = json<Record<string, unknown>>(join(d, 'config.json'));
  edit(cfg);
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg, null, 2));
  return d;
}

describe('epg-eval', () => {
  const run = join(tmp(), 'run');
  beforeAll(async () => {
    const lines: string[] = [];
    const code = await trainMain(['all', '--run', run, ...TINY], { out: (l) => lines.push(l), err: (l) => lines.push(l) }, { skipBackend: true, progressMs: 1e9 });
    if (code !== 0) throw new Error(lines.join('\n'));
  }, 300_000); // a whole tiny run: minutes on a loaded 2-core machine

  it('fid: the same domain FID epg-train all wrote, reusing the cached reference statistics; the JSON names the weights hash', async () => {
    const written = json<FidResult>(join(run, 'eval', 'fid-consistency.json'));
    expect(written.reference).toMatchObject({ dataset: 'mnist', split: 'test', count: 10000, reused: false });
    const r = await cli(['fid', '--run', run]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const again = json<FidResult>(join(run, 'eval', 'fid-consistency.json'));
    expect(again.reference.reused).toBe(true);
    expect(again.fid).toBe(written.fid);
    expect(again.samples).toBe(20);
    expect(again.checkpointStep).toBe(6);
    const weights = orThrow(loadStatistics(join(run, 'eval', 'reference-mnist-test.npz')));
    expect(again.extractor).toBe(weights.extractor);
    expect(again.extractor).toMatch(/^domain-mnist@[0-9a-f]{16}\/fc1$/);
    expect(again.extractor).toContain(again.weightsSha256.slice(0, 16));
    expect(again.commit === null || /^[0-9a-f]{40}$/.test(again.commit)).toBe(true);
    expect(Number.isFinite(again.fid) && again.fid >= 0).toBe(true);
    expect(r.out.at(-1)).toMatch(/^domain-fid consistency \(CM one-step, 20 samples vs 10000 test images\): [\d.]+; extractor domain-mnist@/);
    // the command behind the number is in the run's history, with its time
    const history = readFileSync(join(run, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(history.at(-2)).toMatchObject({ event: 'start', program: 'epg-eval', argv: ['fid', '--run', run] });
    expect(history.at(-1)).toMatchObject({ event: 'stage', stage: 'eval domain-fid consistency' });
    const dmWritten = json<FidResult>(join(run, 'eval', 'fid-diffusion.json'));
    const dm = await cli(['fid', '--run', run, '--objective', 'diffusion']);
    expect(dm.code).toBe(0);
    const dmAgain = json<FidResult>(join(run, 'eval', 'fid-diffusion.json'));
    expect([dmAgain.fid, dmAgain.sampler, dmAgain.reference.reused]).toEqual([dmWritten.fid, 'DM Heun 2 steps', true]);
  });

  it('fid: reference statistics of another extractor are recomputed, with a message', async () => {
    const d = variantOf(run, () => undefined);
    const file = join(d, 'eval', 'reference-mnist-test.npz');
    const stats = orThrow(loadStatistics(file));
    orThrow(saveStatistics(file, { ...stats, extractor: 'domain-mnist@0123456789abcdef/fc1' }));
    const r = await cli(['fid', '--run', d, '--samples', '10', '--reference-count', '300']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(
      `reference statistics ${file}: ${file} holds statistics of extractor 'domain-mnist@0123456789abcdef/fc1', not '${stats.extractor}'; recomputing`,
    );
    const res = json<FidResult>(join(d, 'eval', 'fid-consistency.json'));
    expect(res.reference).toMatchObject({ count: 300, reused: false });
    expect(orThrow(loadStatistics(file))).toMatchObject({ extractor: stats.extractor, count: 300 });
    // another sampler gets its own file beside the default one
    const two = await cli(['fid', '--run', d, '--steps', '2', '--samples', '10', '--reference-count', '300']);
    expect(two.code).toBe(0);
    const res2 = json<FidResult>(join(d, 'eval', 'fid-consistency-2steps.json'));
    expect([res2.sampler, res2.reference.reused]).toEqual(['CM 2-step', true]);
    expect(json<FidResult>(join(d, 'eval', 'fid-consistency.json')).fid).toBe(res.fid);
  });

  it('fid --inception takes a torch.save .pth as it is (random-weight fixture, 75 px)', async () => {
    const pth = join(__dirname, '..', '..', '..', 'packages', 'metrics', 'src', '__fixtures__', 'inception-strided.pth');
    const d = variantOf(run, () => undefined);
    const r = await cli(['fid', '--run', d, '--inception', pth, '--samples', '4', '--reference-count', '4'], { inceptionInputSize: 75 });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const res = json<FidResult>(join(d, 'eval', 'fid-inception-consistency.json'));
    expect(res.metric).toBe('inception-fid');
    expect(res.weightsSha256).toBe(sha(pth));
    expect(res.extractor).toBe(`inception-v3-fid/pool3@75px@${sha(pth).slice(0, 16)}`);
    expect(Number.isFinite(res.fid) && res.fid >= 0).toBe(true);
    expect(existsSync(join(d, 'eval', 'reference-mnist-test-inception.npz'))).toBe(true);
    const bad = join(tmp(), 'bad.pth');
    writeFileSync(bad, 'not a checkpoint');
    const b = await cli(['fid', '--run', d, '--inception', bad, '--samples', '4', '--reference-count', '4'], { inceptionInputSize: 75 });
    expect(b.code).toBe(1);
    expect(b.err).toHaveLength(1);
    expect(b.err[0]).toMatch(/^error: .*bad\.pth/);
  }, 60_000);

  it('sample: reproduces epg-train’s one-step grid byte for byte; multistep CM and Heun DM grids are seeded', async () => {
    const out = join(tmp(), 'cm1.png');
    const r = await cli(['sample', '--run', run, '--count', '4', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`CM one-step: 4 samples from the consistency checkpoint at step 6 (seed 0) -> ${out}`);
    expect(sha(out)).toBe(sha(join(run, 'samples', 'cm-one-step.png')));
    const a = join(tmp(), 'a.png');
    const b = join(tmp(), 'b.png');
    const c = join(tmp(), 'c.png');
    expect((await cli(['sample', '--run', run, '--steps', '2', '--count', '4', '--seed', '3', '--out', a])).code).toBe(0);
    expect((await cli(['sample', '--run', run, '--steps', '2', '--count', '4', '--seed', '3', '--out', b])).code).toBe(0);
    expect((await cli(['sample', '--run', run, '--steps', '2', '--count', '4', '--seed', '4', '--out', c])).code).toBe(0);
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
    expect(sha(a)).not.toBe(sha(out));
    const dmGrid = join(run, 'samples', 'dm-heun2.png');
    const trainGrid = sha(dmGrid);
    rmSync(dmGrid);
    const dm = await cli(['sample', '--run', run, '--objective', 'diffusion', '--count', '4']);
    expect(dm.code).toBe(0);
    expect(sha(dmGrid)).toBe(trainGrid);
    expect(dm.out.at(-1)).toMatch(/^DM Heun 2 steps: 4 samples .* -> .*samples\/dm-heun2\.png$/);
  });

  it("sample: the DM grid follows the config's guidance scale (CFG with the null label when ≠ 1)", async () => {
    const grid = async (dir: string) => {
      const out = join(tmp(), 'dm.png');
      expect((await cli(['sample', '--run', dir, '--objective', 'diffusion', '--count', '4', '--out', out])).code).toBe(0);
      return sha(out);
    };
    // 8 Heun steps put σ inside the guidance interval (0.19, 1.61]·shift; 2 steps (35, 0.0009) never are.
    const withScale = (scale: number) => variantOf(run, (c) => Object.assign(c.eval as Record<string, unknown>, { guidance: scale, heunSteps: 8 }));
    const base = await grid(withScale(1));
    expect(await grid(withScale(1))).toBe(base);
    expect(await grid(withScale(4))).not.toBe(base);
  });

  it('export: the consistency model for the browser demo (model.safetensors + model.json of the checkpoint)', async () => {
    const out = join(tmp(), 'export');
    const r = await cli(['export', '--run', run, '--out', out]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toMatch(/^export: consistency model at step 6 \([0-9a-f]{16}…\) -> /);
    const m = json<{ format: string; step: number; sha256: string }>(join(out, 'model.json'));
    expect(m).toMatchObject({ format: 'epg-export', step: 6 });
    expect(sha(join(out, 'model.safetensors'))).toBe(m.sha256);
    const bad = await cli(['export', '--run', run, '--steps', '2']);
    expect(bad.code).toBe(1);
    expect(bad.err[0]).toMatch(/^error: --steps is not an option of epg-eval export/);
  });

  it('probe: kNN and linear top-1 at σ₀ and the given σ', async () => {
    const r = await cli(['probe', '--run', run, '--sigmas', '0,1', '--train-per-class', '6', '--test-per-class', '3']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const p = json<ProbeResultFile>(join(run, 'eval', 'probe.json'));
    expect(p).toMatchObject({ metric: 'probe', checkpointStep: 6, trainImages: 60, testImages: 30, k: 20 });
    expect(p.rows.map((row) => row.requested)).toEqual([0, 1]);
    // σ₀ = σ_min·28/64 = 0.002·0.4375; σ = 1 (unshifted) puts 0.4375 of noise on the images
    expect(p.rows[0].sigma).toBeCloseTo(0.000875, 12);
    expect(p.rows[1].sigma).toBeCloseTo(0.4375, 12);
    for (const row of p.rows) {
      expect(row.knnTop1).toBeGreaterThanOrEqual(0);
      expect(row.knnTop1).toBeLessThanOrEqual(1);
      expect(row.linearTop1! * 30).toBeCloseTo(Math.round(row.linearTop1! * 30), 9); // a count of 30 test images
    }
    expect(r.out[0]).toMatch(/^probe σ σ₀ \(image noise 0\.000875\): kNN top-1 [\d.]+, linear top-1 [\d.]+$/);
  });

  it('report: one run regenerates its report with config, FID, commands and times', async () => {
    const r = await cli(['report', '--run', run]);
    expect(r.code).toBe(0);
    const md = readFileSync(join(run, 'report.md'), 'utf8');
    expect(md).toContain('# epg-train: mnist-quick (seed 0)');
    expect(md).toMatch(/\| consistency \| CM one-step \| [\d.]+ \| 20 \| 10000 mnist test \| domain-mnist@[0-9a-f]{16}\/fc1 \| 6 \|/);
    expect(md).toContain('## Commands');
    expect(md).toContain(`epg-train all --run ${run} --set pretrain.steps=6`);
    expect(md).toMatch(/\| evaluate \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toContain('![cm-one-step](samples/cm-one-step.png)');
    expect(md).toContain('![pretrain loss](curves/pretrain.svg)');
    expect(existsSync(join(run, 'report.html'))).toBe(true);
  });

  it('report: several runs → tables per metric with mean and spread over seeds, grouped by config minus seed', async () => {
    const setFid = (d: string, fid: number) => {
      const p = join(d, 'eval', 'fid-consistency.json');
      writeFileSync(p, JSON.stringify({ ...json<FidResult>(p), fid }));
      rmSync(join(d, 'eval', 'fid-diffusion.json'), { force: true });
      rmSync(join(d, 'eval', 'probe.json'), { force: true });
    };
    const s0 = variantOf(run, () => undefined);
    const s1 = variantOf(run, (c) => (c.seed = 1));
    const s2 = variantOf(run, (c) => (c.seed = 2));
    const other = variantOf(run, (c) => {
      c.variants = ['no-aux-loss'];
      (c.consistency as Record<string, unknown>).auxWeight = 0;
    });
    setFid(s0, 10);
    setFid(s1, 14);
    setFid(s2, 18);
    setFid(other, 7);
    const edited = variantOf(run, (c) => ((c.consistency as Record<string, unknown>).lr = 0.002)); // a --set edit: its own group
    setFid(edited, 9);
    const out = join(tmp(), 'cmp');
    const r = await cli(['report', '--run', s0, '--run', s1, '--run', s2, '--run', other, '--run', edited, '--out', out]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`comparison of 5 runs in 3 group(s): ${join(out, 'report.html')}`);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| mnist · mnist-quick | 3 | 0, 1, 2 |');
    expect(md).toContain('| mnist · mnist-quick + no-aux-loss | 1 | 0 |');
    // mean 14, sample std 4 (n − 1), min 10, max 18
    expect(md).toContain('| mnist · mnist-quick | 3 | 14 | 4 | 10 | 18 |');
    expect(md).toContain('| mnist · mnist-quick + no-aux-loss | 1 | 7 | 0 | 7 | 7 |');
    expect(md).toContain('| mnist · mnist-quick (consistency.lr = 0.002) | 1 | 9 | 0 | 9 | 9 |');
    expect(md).toMatch(/## CM one-step domain-FID, 20 samples vs 10000 mnist test \(domain-mnist@[0-9a-f]{16}\/fc1\)/);
    expect(md).toMatch(/epg-train all --run \S+ --set pretrain\.steps=6/);
    const data = json<{ metrics: Record<string, { group: string; n: number; mean: number; std: number }[]>; groups: { label: string; runs: { seed: number }[] }[] }>(join(out, 'comparison.json'));
    const fidKey = Object.keys(data.metrics).find((k) => k.startsWith('CM one-step domain-FID'))!;
    expect(data.metrics[fidKey][0]).toMatchObject({ group: 'mnist · mnist-quick', n: 3, mean: 14, std: 4 });
    expect(data.groups.map((g) => g.runs.map((r) => r.seed))).toEqual([[0, 1, 2], [0], [0]]);
    // times per stage (from history.jsonl) and the fine-tuning losses of the last steps (here all 6)
    const hist = readFileSync(join(s0, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; stage?: string; cpuSeconds?: number });
    const cpuOf = (stage: string) => hist.filter((h) => h.event === 'stage' && h.stage === stage).reduce((a, h) => a + h.cpuSeconds!, 0);
    const run0 = (data as unknown as { groups: { runs: { metrics: Record<string, number> }[] }[] }).groups[0].runs[0].metrics;
    expect(run0['time: pretrain CPU (s)']).toBeCloseTo(cpuOf('pretrain'), 6);
    const cm = readFileSync(join(s0, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; step: number; loss: number }).filter((m) => m.phase === 'consistency');
    expect(run0['CM total loss, mean of steps 0–5']).toBeCloseTo(cm.reduce((a, m) => a + m.loss, 0) / cm.length, 10);
    expect(md).toContain('## time: total CPU (s)');
    // every run's grids and curves are copied next to the report (names made unique)
    expect(existsSync(join(out, 'runs', 'run-1', 'curves', 'consistency.svg'))).toBe(true);
    expect(md).toMatch(/!\[run-1: cm-one-step\]\(runs\/run-1\/samples\/cm-one-step\.png\)/);
    // the summary: one row per group, mean ± sample std over its seeds
    expect(md).toContain('## Summary');
    expect(md).toMatch(/\| mnist · mnist-quick \|.*\| 14 ± 4 \(n = 3\) \|/);
    expect(md).toMatch(/\| mnist · mnist-quick \+ no-aux-loss \|.*\| 7 \(n = 1\) \|/);
    // runs that lie under --out (a study's records) are linked in place, not copied, with relative dirs
    const study = join(tmp(), 'study');
    cpSync(s0, join(study, 'records', 'a'), { recursive: true });
    cpSync(s1, join(study, 'records', 'b'), { recursive: true });
    const r2 = await cli(['report', '--run', join(study, 'records', 'a'), '--run', join(study, 'records', 'b'), '--out', study]);
    expect(r2.code).toBe(0);
    const md2 = readFileSync(join(study, 'report.md'), 'utf8');
    expect(md2).toMatch(/!\[a: cm-one-step\]\(records\/a\/samples\/cm-one-step\.png\)/);
    expect(existsSync(join(study, 'runs'))).toBe(false);
    expect(json<{ groups: { runs: { dir: string }[] }[] }>(join(study, 'comparison.json')).groups[0].runs[0].dir).toBe(join('records', 'a'));
  });

  it.each<[string, (dirs: { run: string; empty: string }) => string[], RegExp]>([
    ['missing run dir', () => ['fid', '--run', '/nonexistent/run'], /^error: run directory \/nonexistent\/run does not exist: pass the --run directory of an epg-train run$/],
    ['a directory that is not a run', ({ empty }) => ['sample', '--run', empty], /^error: .* has no config\.json: it is not an epg-train run directory/],
    ['no --run', () => ['fid'], /^error: fid needs --run DIR/],
    ['unknown command', ({ run }) => ['publish', '--run', run], /^error: unknown command 'publish': use epg-eval sample \| fid \| probe \| report \| export$/],
    ['bad --objective', ({ run }) => ['fid', '--run', run, '--objective', 'gan'], /^error: --objective 'gan' is not consistency or diffusion/],
    ['bad --sigmas', ({ run }) => ['probe', '--run', run, '--sigmas', '0,x'], /^error: --sigmas '0,x': 'x' is not a finite number >= 0: pass comma-separated values/],
    ['negative --sigmas', ({ run }) => ['probe', '--run', run, '--sigmas=0,-1'], /^error: --sigmas '0,-1': '-1' is not a finite number >= 0/],
    ['--steps 0', ({ run }) => ['sample', '--run', run, '--steps', '0'], /^error: --steps '0' must be an integer >= 1/],
    ['an option of another command', ({ run }) => ['probe', '--run', run, '--samples', '3'], /^error: --samples is not an option of epg-eval probe: its options: --sigmas/],
    ['two runs for fid', ({ run }) => ['fid', '--run', run, '--run', run], /^error: fid takes one --run, got 2/],
    ['missing inception weights', ({ run }) => ['fid', '--run', run, '--inception', '/nonexistent/w.pth'], /^error: Inception weights \/nonexistent\/w\.pth do not exist/],
  ])('bad input: %s → one line, exit 1', async (_name, argv, re) => {
    const r = await cli(argv({ run, empty: tmp() }));
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(re);
  });

  it('bad runs: no checkpoint of that objective, no such stage, a checkpoint of another model → one line; no pre-training probes the random encoder', async () => {
    const noCkpt = variantOf(run, () => undefined);
    rmSync(join(noCkpt, 'checkpoints', 'diffusion'), { recursive: true });
    const r1 = await cli(['fid', '--run', noCkpt, '--objective', 'diffusion']);
    expect([r1.code, r1.err]).toEqual([1, [`error: run ${noCkpt} has no diffusion checkpoint yet: run epg-train finetune --objective diffusion --run ${noCkpt} first`]]);
    const noStage = variantOf(run, (c) => (c.diffusion = null));
    const r2 = await cli(['sample', '--run', noStage, '--objective', 'diffusion']);
    expect([r2.code, r2.err]).toEqual([1, [`error: run ${noStage} has no diffusion stage (its config's diffusion section is null): use --objective consistency`]]);
    const otherModel = variantOf(run, (c) => ((c.model as Record<string, unknown>).preset = 'cpu-tiny-mnist'));
    const r3 = await cli(['sample', '--run', otherModel, '--count', '2']);
    expect(r3.code).toBe(1);
    expect(r3.err).toHaveLength(1);
    expect(r3.err[0]).toMatch(new RegExp(`^error: the consistency checkpoint of ${otherModel} does not fit this run's model \\(cpu-tiny-mnist\\): `));
    const scratch = variantOf(run, (c) => (c.pretrain = null));
    // no pre-training is not an error for probe: it measures the random initial encoder (the baseline)
    const r4 = await cli(['probe', '--run', scratch, '--sigmas', '0', '--train-per-class', '3', '--test-per-class', '2']);
    expect([r4.code, r4.err]).toEqual([0, []]);
    const probe = JSON.parse(readFileSync(join(scratch, 'eval', 'probe.json'), 'utf8')) as { encoder: string; checkpointStep: number };
    expect([probe.encoder, probe.checkpointStep]).toEqual(['random-init', 0]);
  });
});
