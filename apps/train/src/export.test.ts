/**
 * exportModel: a tiny scratch consistency run (6 steps) exported; the files hold exactly the
 * checkpoint's `model` tensors, the manifest the run's settings and the weights' SHA-256.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { decodeSafetensors, orThrow, readCheckpoint } from '@epg/tensor';
import { noiseSpace } from '@epg/schedules';
import { main } from './cli';
import { EXPORT_MANIFEST, EXPORT_WEIGHTS, exportModel } from './export';
import { checkpointBase } from './stages/common';

const TINY = ['consistency.steps=6', 'consistency.batch=8', 'data.limit=64', 'checkpoint.every=3', 'pretrain=null'].flatMap((s) => ['--set', s]);

describe('exportModel', () => {
  jest.setTimeout(300_000);
  const run = mkdtempSync(join(tmpdir(), 'epg-export-run-'));

  beforeAll(async () => {
    const lines: string[] = [];
    const code = await main(['finetune', '--objective', 'consistency', '--run', run, ...TINY], { out: (l) => lines.push(l), err: (l) => lines.push(l) }, { skipBackend: true, progressMs: 1e9 });
    if (code !== 0) throw new Error(`tiny run failed:\n${lines.join('\n')}`);
  });

  it('writes the checkpoint\'s model tensors by name, float32, and a manifest with their SHA-256', () => {
    const out = mkdtempSync(join(tmpdir(), 'epg-export-out-'));
    const m = orThrow(exportModel({ runDir: run, objective: 'consistency', outDir: out }));
    const bytes = readFileSync(join(out, EXPORT_WEIGHTS));
    const json = JSON.parse(readFileSync(join(out, EXPORT_MANIFEST), 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(m)));
    expect(m.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect([m.format, m.version, m.objective, m.step, m.seed, m.preset, m.numClasses]).toEqual(['epg-export', 1, 'consistency', 6, 0, 'mnist-quick', 0]);
    expect([m.imageSize, m.channels, m.vit.name]).toEqual([28, 1, 'cpu-micro-mnist']);
    expect(m.noise).toEqual(JSON.parse(JSON.stringify(noiseSpace(28))));
    const ck = orThrow(readCheckpoint(checkpointBase(run, 'consistency')));
    const model = new Map([...ck.tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice('model.'.length), t]));
    const exported = decodeSafetensors(bytes).tensors;
    expect([...exported.keys()].sort()).toEqual([...model.keys()].sort());
    for (const [name, t] of exported) {
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(model.get(name)!.shape);
      expect(Buffer.from(t.data.buffer).equals(Buffer.from(model.get(name)!.data.buffer))).toBe(true);
    }
    expect(existsSync(join(out, `${EXPORT_WEIGHTS}.tmp`))).toBe(false);
  });

  it.each([
    ['a directory without a run', () => mkdtempSync(join(tmpdir(), 'epg-export-empty-')), 'consistency', /^export: cannot read .*config\.json .*: pass the directory of an epg-train run/],
    ['a run without a consistency checkpoint', () => {
      const d = mkdtempSync(join(tmpdir(), 'epg-export-nockpt-'));
      copyFileSync(join(run, 'config.json'), join(d, 'config.json'));
      return d;
    }, 'consistency', /^export: .* has no consistency checkpoint: run `pnpm train all --run /],
    ['the diffusion objective', () => run, 'diffusion', /^export: objective 'diffusion' is not exportable yet/],
  ] as const)('%s: one line', (_n, dir, objective, message) => {
    const r = exportModel({ runDir: dir(), objective, outDir: mkdtempSync(join(tmpdir(), 'epg-export-out-')) });
    expect(E.isLeft(r) && r.left.message).toMatch(message);
  });
});
