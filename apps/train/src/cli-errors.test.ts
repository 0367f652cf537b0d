// Bad input to the real epg-train process: each case prints exactly one line `error: …` on stderr
// naming the thing and the fix, exits with code 1, and leaves every existing run directory as it was
// (file list, sizes, mtimes and contents) and creates no new one. cli.test.ts checks the same
// messages in-process (and more of them); these run `node apps/train/dist/cli.js` as a user would,
// about 1.5 s per case (the process start).
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, childBackend, runCli, sets, snapshot } from './__fixtures__/cli-process';

const root = mkdtempSync(join(tmpdir(), 'epg-cli-errors-'));
/** A run of the app's micro model with pre-training checkpoints (2 steps). */
const started = join(root, 'started');
/** A run directory of the cpu-tiny-mnist model holding the micro model's checkpoints (copied by hand). */
const other = join(root, 'other');
const aFile = join(root, 'a-file');
const TINY = sets('pretrain.steps=2', 'pretrain.batch=8', 'data.limit=64', 'checkpoint.every=1');

beforeAll(async () => {
  assertBuilt();
  const r = await runCli(['pretrain', '--run', started, ...TINY, '--backend', childBackend()]);
  if (r.code !== 0) throw new Error(`setting up a started run failed:\n${r.stderr.join('\n')}`);
  // `other`: the tiny model's config (as initRunDir writes it), resumable at step 2 of 3, with the micro model's checkpoint.
  const dry = await runCli(['pretrain', '--dry-run', ...TINY, ...sets('pretrain.steps=3', 'model.preset=cpu-tiny-mnist')]);
  if (dry.code !== 0) throw new Error(dry.stderr.join('\n'));
  mkdirSync(join(other, 'checkpoints'), { recursive: true });
  writeFileSync(join(other, 'config.json'), `${JSON.stringify(JSON.parse(dry.stdout.join('\n')), null, 2)}\n`);
  cpSync(join(started, 'checkpoints', 'pretrain'), join(other, 'checkpoints', 'pretrain'), { recursive: true });
  writeFileSync(aFile, 'not a folder\n');
  writeFileSync(join(root, 'bad.json'), '{ "preset": "mnist-quick", "seed": 1,\n');
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const OTHER_MODEL = [...TINY, ...sets('pretrain.steps=3', 'model.preset=cpu-tiny-mnist')];

describe('epg-train bad input (child process): one line, exit 1, no run directory touched', () => {
  it.each<[string, string[], RegExp]>([
    ['missing dataset path', ['pretrain', ...sets('data.dataset=image-folder', 'data.path=/nonexistent/images')],
      /^error: config field data\.path is '\/nonexistent\/images': no such folder: check data\.path \(a folder of class sub-folders of images\)$/],
    ['image-folder without a path', ['pretrain', ...sets('data.dataset=image-folder')],
      /^error: config field data\.path is null, but data\.dataset 'image-folder' needs a folder of class sub-folders: set data\.path$/],
    ['a dataset path that is a file', ['pretrain', ...sets('data.dataset=image-folder', `data.path=@FILE`)],
      /^error: config field data\.path is '.*a-file': a file, not a folder: point data\.path at a folder/],
    ['bad JSON config file', ['all', '--config', '@ROOT/bad.json'], /^error: config file .*bad\.json is not valid JSON \(.+\): fix the file$/],
    ['unknown preset', ['all', '--preset', 'mnist-huge'], /^error: unknown preset 'mnist-huge': use one of mnist-quick, /],
    ['unknown variant', ['all', '--variant', 'no-such-variant'], /^error: unknown variant 'no-such-variant': use one of scratch, rrcm, /],
    ['lr = 0', ['all', ...sets('diffusion.lr=0')], /^error: config field diffusion\.lr is 0: expected a finite number > 0$/],
    ['lr < 0', ['all', ...sets('consistency.lr=-0.001')], /^error: config field consistency\.lr is -0\.001: expected a finite number > 0$/],
    ['batch 0', ['all', ...sets('pretrain.batch=0')], /^error: config field pretrain\.batch is 0: expected an integer >= 1$/],
    ['steps < 1', ['all', ...sets('consistency.steps=0')], /^error: config field consistency\.steps is 0: expected an integer >= 1$/],
    ['σ_min ≥ σ_max', ['all', ...sets('noise={"sigmaMin":80,"sigmaMax":0.002,"sigmaData":null}')], /^error: config field noise\.sigmaMax is 0\.002: expected a number > noise\.sigmaMin \(80\)$/],
    ['a checkpoint of another model in the run directory', ['pretrain', '--resume', '--run', '@OTHER', ...OTHER_MODEL],
      /^error: checkpoint .*other\/checkpoints\/pretrain\/ckpt.*tensor 'model\.[^']+'.*\[.*\].*: .*other\/checkpoints\/pretrain holds checkpoints of another model: resume with the config that wrote them, or start a new --run$/],
    ['a run directory under a regular file', ['pretrain', '--run', '@FILE/run'], /^error: run directory .*a-file\/run: .*a-file is a file, not a folder: choose another --run$/],
    ['a run directory that is a file', ['pretrain', '--run', '@FILE'], /^error: run directory .*a-file is a file: choose another --run$/],
  ])('%s', async (_name, argv, re) => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'epg-cli-fresh-')), 'run');
    const args = argv.map((a) => a.replace('@STARTED', started).replace('@OTHER', other).replace('@FILE', aFile).replace('@ROOT', root));
    if (!args.includes('--run')) args.push('--run', fresh);
    const before = snapshot(root);
    const r = await runCli([...args, '--backend', childBackend()]);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(re);
    expect(r.code).toBe(1);
    expect(r.signal).toBeNull();
    // Nothing but (for a resumed run) the backend line reaches stdout, and nothing on disk changes.
    expect(r.stdout.filter((l) => !/^(\[epg\] tfjs backend:|run directory: )/.test(l))).toEqual([]);
    expect(snapshot(root)).toEqual(before);
    expect(readdirSync(join(fresh, '..'))).toEqual([]);
  }, 60_000);

  // Root writes everywhere, so permission bits cannot refuse it: under root (as in CI and here) the
  // cases above use a path under a regular file instead, which refuses root as well.
  (process.getuid?.() === 0 ? it.skip : it)('an unwritable parent folder (chmod 555)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'epg-cli-ro-'));
    chmodSync(parent, 0o555);
    try {
      const before = snapshot(parent);
      const r = await runCli(['pretrain', '--run', join(parent, 'run')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toHaveLength(1);
      expect(r.stderr[0]).toMatch(/^error: run directory .* cannot be created: .* is not writable: choose a writable --run$/);
      expect(snapshot(parent)).toEqual(before);
    } finally {
      chmodSync(parent, 0o755);
    }
  });
});
