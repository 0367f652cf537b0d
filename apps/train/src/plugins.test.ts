import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import * as ts from 'typescript';
import { consistencyDistance } from '@epg/consistency';
import type { CmDistanceVariant, PretrainLossVariant, TauScheduleVariant } from '@epg/contracts';
import { readRecords } from '@epg/runs';
import { EPG_PAPER_TEMPERATURE, temperature, type TemperatureSchedule } from '@epg/schedules';
import { ntXent } from '@epg/ssl';
import { normalTensor, orThrow, RandomStream } from '@epg/tensor';
import { parseTrainArgs } from './args';
import { main } from './cli';
import { parsePluginSpec, resolvePlugins } from './plugins';
import { PRESETS } from './presets';
import { defaultRunDir } from './run-dir';
import { scaffoldVariant } from './scaffold';

/**
 * A project directory with the fixture packages installed in its node_modules. It lies under
 * apps/train/node_modules so that the packages' own imports (@tensorflow/tfjs-core, @epg/ssl) resolve
 * to the test's copies, as a variant installed next to epg-train shares epg-train's.
 */
const projects: string[] = [];
function project(): string {
  const base = join(__dirname, '..', 'node_modules', '.epg-plugin-tests');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'p-'));
  projects.push(dir);
  const fx = join(__dirname, '__fixtures__', 'variants');
  cpSync(join(fx, 'triple-loss'), join(dir, 'node_modules', '@fixture', 'epg-variant-triple'), { recursive: true });
  cpSync(join(fx, 'wrong-kind'), join(dir, 'node_modules', 'epg-variant-wrong-kind'), { recursive: true });
  cpSync(join(fx, 'no-export'), join(dir, 'node_modules', 'epg-variant-no-export'), { recursive: true });
  return dir;
}
afterAll(() => projects.forEach((d) => rmSync(d, { recursive: true, force: true })));

const QUICK = PRESETS['mnist-quick'];
const TINY = { ...QUICK, data: { ...QUICK.data, limit: 256 }, pretrain: { ...QUICK.pretrain!, steps: 2, batch: 8 }, checkpoint: { ...QUICK.checkpoint, every: 2 } };

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, { skipBackend: true, progressMs: 1e9 });
  return { code, out, err };
}

/** Writes a config with these plugins into the project; returns its path. */
function configIn(dir: string, plugins: string[], base: object = TINY): string {
  const p = join(dir, `cfg-${projects.length}-${plugins.length}.json`);
  writeFileSync(p, JSON.stringify({ ...base, plugins }));
  return p;
}

describe('code variants by package name', () => {
  it('parses package names with an optional exact version', () => {
    expect(parsePluginSpec('@me/epg-variant-l1')).toEqual(E.right({ name: '@me/epg-variant-l1', version: null }));
    expect(parsePluginSpec('epg-variant-l1@1.0.0')).toEqual(E.right({ name: 'epg-variant-l1', version: '1.0.0' }));
    expect(E.isLeft(parsePluginSpec('../my-variant'))).toBe(true);
  });

  it('resolves an installed package from the config directory, checks it and pins its version', () => {
    const dir = project();
    const r = orThrow(resolvePlugins({ ...TINY, plugins: ['@fixture/epg-variant-triple'] }, ['/', dir]));
    expect(r.config.plugins).toEqual(['@fixture/epg-variant-triple@1.2.3']);
    expect(r.plugins.records).toEqual([
      expect.objectContaining({ package: '@fixture/epg-variant-triple', version: '1.2.3', kind: 'pretrain-loss', name: 'triple' }),
    ]);
    expect(typeof r.plugins.byKind['pretrain-loss']?.loss).toBe('function');
    expect(defaultRunDir({ ...r.config, variants: ['no-aux-loss'] })).toBe(join('runs', 'mnist-quick+no-aux-loss+epg-variant-triple-s0'));
  });

  it.each<[string, string[], object, RegExp]>([
    ['not installed', ['@me/epg-variant-nope'], TINY, /^error: plugin '@me\/epg-variant-nope' is not installed \(looked from .*\): pnpm add @me\/epg-variant-nope \(or npm install @me\/epg-variant-nope\)/],
    ['wrong kind', ['epg-variant-wrong-kind'], TINY, /^error: plugin 'epg-variant-wrong-kind': its kind is "optimizer": expected one of 'pretrain-loss', 'tau-schedule', 'cm-distance'/],
    ['no variant export', ['epg-variant-no-export'], TINY, /^error: plugin 'epg-variant-no-export' exports no 'variant': export const variant = defineVariant/],
    ['another version', ['@fixture/epg-variant-triple@2.0.0'], TINY, /^error: plugin '@fixture\/epg-variant-triple' is installed at version 1.2.3, the config asks for 2.0.0: pnpm add @fixture\/epg-variant-triple@2.0.0/],
    ['no stage for it', ['@fixture/epg-variant-triple'], { ...TINY, pretrain: null }, /^error: plugin '@fixture\/epg-variant-triple' is a 'pretrain-loss' variant, but this config has no pre-training/],
    ['not a package name', ['../x'], TINY, /^error: config field plugins.0 is "..\/x": expected an npm package name/],
  ])('refuses a plugin that is %s, in one line', async (_what, plugins, base, re) => {
    const dir = project();
    const r = await cli(['pretrain', '--dry-run', '--config', configIn(dir, plugins, base)]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(re);
  });

  it('--dry-run shows the pinned plugin; --plugin adds one to a config', async () => {
    const dir = project();
    const r = await cli(['all', '--dry-run', '--config', configIn(dir, []), '--plugin', '@fixture/epg-variant-triple']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.join('\n')).plugins).toEqual(['@fixture/epg-variant-triple@1.2.3']);
  });

  it('changes the run: with 3 × NT-Xent every pre-training term of step 0 is 3 × the default; the run dir records it', async () => {
    const dir = project();
    const base = join(mkdtempSync(join(tmpdir(), 'epg-plugins-')), 'base');
    const triple = join(dir, 'run-triple');
    expect((await cli(['pretrain', '--config', configIn(dir, []), '--run', base])).code).toBe(0);
    const r = await cli(['pretrain', '--config', configIn(dir, ['@fixture/epg-variant-triple']), '--run', triple]);
    expect(r.err).toEqual([]);
    expect(r.out).toContain('plugin pretrain-loss: @fixture/epg-variant-triple@1.2.3 (triple: 3 × NT-Xent)');
    const first = (run: string) => orThrow(readRecords(join(run, 'metrics.jsonl'))).find((x) => x.phase === 'pretrain' && x.step === 0)!.values;
    const [b, t] = [first(base), first(triple)];
    expect(t.contrastive).toBeCloseTo(3 * b.contrastive, 3);
    expect(t.consistency).toBeCloseTo(3 * b.consistency, 3);
    expect(JSON.parse(readFileSync(join(triple, 'config.json'), 'utf8')).plugins).toEqual(['@fixture/epg-variant-triple@1.2.3']);
    expect(JSON.parse(readFileSync(join(triple, 'plugins.json'), 'utf8'))[0]).toMatchObject({ package: '@fixture/epg-variant-triple', version: '1.2.3' });
  }, 180_000); // two 2-step pre-trainings: seconds alone, more on a shared machine
});

describe('epg-train scaffold-variant', () => {
  /** Scaffolds into the project, transpiles src/index.ts as tsc would, and loads it by name. */
  function scaffoldAndLoad(kind: 'pretrain-loss' | 'tau-schedule' | 'cm-distance') {
    const dir = project();
    const name = `@me/epg-variant-${kind}`;
    const lines = orThrow(scaffoldVariant({ name, kind, dir: join('node_modules', '@me', `epg-variant-${kind}`), cwd: dir }));
    expect(lines[0]).toMatch(new RegExp(`^scaffolded ${name} \\(kind ${kind}\\)`));
    const pkgDir = join(dir, 'node_modules', '@me', `epg-variant-${kind}`);
    const src = readFileSync(join(pkgDir, 'src', 'index.ts'), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    mkdirSync(join(pkgDir, 'dist'));
    writeFileSync(join(pkgDir, 'dist', 'index.js'), js);
    const r = orThrow(resolvePlugins({ ...PRESETS['mnist-quick'], plugins: [name] }, [dir]));
    return { dir: pkgDir, r };
  }

  it('writes a package whose default pre-training loss is NT-Xent', () => {
    const { dir, r } = scaffoldAndLoad('pretrain-loss');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.peerDependencies).toEqual({ '@epg/contracts': expect.stringMatching(/^\^\d/), '@tensorflow/tfjs-core': '4.22.0' });
    for (const f of ['tsconfig.json', 'tsconfig.build.json', 'jest.config.cjs', 'README.md', 'src/index.test.ts']) expect(existsSync(join(dir, f))).toBe(true);
    const v = r.plugins.byKind['pretrain-loss'] as PretrainLossVariant;
    const rs = RandomStream.fromSeed(5);
    const [q, k] = [normalTensor(rs.child('q'), [6, 4]) as tf.Tensor2D, normalTensor(rs.child('k'), [9, 4]) as tf.Tensor2D];
    const [got, want] = [v.loss(q, k, 0.2), ntXent(q, k, 0.2)];
    Array.from(got.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want.dataSync()[i], 5));
    tf.dispose([q, k, got, want]);
  });

  it("writes a τ schedule equal to the paper's interpolated τ of a run of S steps", () => {
    const v = scaffoldAndLoad('tau-schedule').r.plugins.byKind['tau-schedule'] as TauScheduleVariant;
    const S = 300;
    for (const [sigma, k] of [[0.002, 0], [3.5, 17], [80, 150], [12, 200], [79, 299]]) {
      expect(v.tau(sigma, k, { totalSteps: S })).toBeCloseTo(temperature({ ...EPG_PAPER_TEMPERATURE, totalSteps: S } as TemperatureSchedule, sigma, k), 12);
    }
  });

  it("writes a CM distance equal to EPG's D/sg(√(D + c²))", () => {
    const v = scaffoldAndLoad('cm-distance').r.plugins.byKind['cm-distance'] as CmDistanceVariant;
    const rs = RandomStream.fromSeed(6);
    const [a, b] = [normalTensor(rs.child('a'), [3, 4, 4, 1]) as tf.Tensor4D, normalTensor(rs.child('b'), [3, 4, 4, 1]) as tf.Tensor4D];
    const [got, want] = [v.distance(a, b, { c: 0.06 }), consistencyDistance(a, b, { kind: 'ect', c: 0.06 })];
    Array.from(got.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want.dataSync()[i], 4));
    tf.dispose([a, b, got, want]);
  });

  it("resolves itself by name from its own directory (a config kept next to the variant's source)", () => {
    const dir = project();
    const own = join(dir, 'my-variant');
    orThrow(scaffoldVariant({ name: '@me/epg-variant-own', kind: 'tau-schedule', dir: own, cwd: dir }));
    const js = ts.transpileModule(readFileSync(join(own, 'src', 'index.ts'), 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
    mkdirSync(join(own, 'dist'));
    writeFileSync(join(own, 'dist', 'index.js'), js);
    const r = orThrow(resolvePlugins({ ...PRESETS['mnist-quick'], plugins: ['@me/epg-variant-own'] }, [own]));
    expect(r.config.plugins).toEqual(['@me/epg-variant-own@0.1.0']);
    expect(r.plugins.records[0].path).toBe(own);
  });

  it('in the workspace: workspace:* dependencies and a changeset; refuses a non-empty directory', () => {
    const ws = mkdtempSync(join(tmpdir(), 'epg-ws-'));
    writeFileSync(join(ws, 'pnpm-workspace.yaml'), 'packages:\n  - "packages/*"\n');
    mkdirSync(join(ws, 'packages', 'contracts'), { recursive: true });
    writeFileSync(join(ws, 'packages', 'contracts', 'package.json'), '{"name":"@epg/contracts"}');
    mkdirSync(join(ws, '.changeset'));
    const lines = orThrow(scaffoldVariant({ name: '@me/epg-variant-l1', kind: 'cm-distance', dir: null, cwd: ws }));
    const pkg = JSON.parse(readFileSync(join(ws, 'packages', 'epg-variant-l1', 'package.json'), 'utf8'));
    expect(pkg.peerDependencies).toEqual({ '@epg/contracts': 'workspace:*', '@epg/tensor': 'workspace:*', '@tensorflow/tfjs-core': '4.22.0' });
    expect(readFileSync(join(ws, '.changeset', 'epg-variant-l1.md'), 'utf8')).toMatch(/^---\n"@me\/epg-variant-l1": minor\n---/);
    expect(lines).toContain('  .changeset/epg-variant-l1.md');
    const again = scaffoldVariant({ name: '@me/epg-variant-l1', kind: 'cm-distance', dir: 'packages/epg-variant-l1', cwd: ws });
    expect(E.isLeft(again) && again.left.message).toMatch(/scaffold-variant: .*epg-variant-l1 exists and is not empty: choose another --dir/);
  });

  it('parses scaffold-variant and --plugin arguments, and keeps their options apart', () => {
    const s = orThrow(parseTrainArgs(['scaffold-variant', '@me/x', '--kind', 'tau-schedule', '--dir', 'd']));
    expect(s.command).toBe('scaffold-variant');
    expect(s.scaffold).toEqual({ name: '@me/x', kind: 'tau-schedule', dir: 'd' });
    expect(orThrow(parseTrainArgs(['all', '--plugin', 'a', '--plugin', '@b/c@1.0.0'])).plugins).toEqual(['a', '@b/c@1.0.0']);
    const msg = (argv: string[]) => {
      const r = parseTrainArgs(argv);
      return E.isLeft(r) ? r.left.message : 'accepted';
    };
    expect(msg(['all', '--kind', 'cm-distance'])).toBe("--kind applies to scaffold-variant only, not 'all'");
    expect(msg(['scaffold-variant', '@me/x', '--kind', 'optimizer'])).toBe("scaffold-variant needs --kind pretrain-loss | tau-schedule | cm-distance, got 'optimizer'");
    expect(msg(['scaffold-variant', '@me/x', '--kind', 'cm-distance', '--preset', 'mnist-quick'])).toMatch(/^--preset does not apply to scaffold-variant/);
    expect(msg(['scaffold-variant', '--kind', 'cm-distance'])).toMatch(/^scaffold-variant needs a package name/);
  });

  it('the CLI command names a missing --kind in one line', async () => {
    const r = await cli(['scaffold-variant', '@me/x']);
    expect(r.code).toBe(1);
    expect(r.err).toEqual(["error: scaffold-variant needs --kind pretrain-loss | tau-schedule | cm-distance"]);
  });
});
