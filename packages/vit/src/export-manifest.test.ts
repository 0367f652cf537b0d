import { noiseSpace } from '@epg/schedules';
import { getPreset } from './config';
import { checkExportManifest, EXPORT_FORMAT, EXPORT_VERSION, type ExportManifest } from './export-manifest';

const vit = getPreset('test-micro-gray');
const good: ExportManifest = {
  format: EXPORT_FORMAT, version: EXPORT_VERSION, objective: 'consistency', vit, noise: noiseSpace(vit.imageSize),
  numClasses: 0, imageSize: vit.imageSize, channels: vit.channels, preset: 'mnist-quick', variants: [], seed: 0, step: 300,
  sha256: 'ab'.repeat(32),
};

describe('checkExportManifest', () => {
  it('returns a well-formed manifest unchanged', () => {
    expect(checkExportManifest(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [1, 2], /^model\.json is not a JSON object/],
    ['another format', { ...good, format: 'epg-checkpoint' }, /format "epg-checkpoint", expected 'epg-export'/],
    ['a newer version', { ...good, version: 2 }, /export version 2; this reader reads version 1/],
    ['a diffusion model', { ...good, objective: 'diffusion' }, /holds a 'diffusion' model/],
    ['no noise section', { ...good, noise: null }, /lacks its vit or noise section/],
    ['a negative step', { ...good, step: -1 }, /field step must be a non-negative integer, got -1/],
    ['a short hash', { ...good, sha256: 'abc' }, /field sha256 must be 64 hex digits/],
    ['sizes that disagree with the network', { ...good, imageSize: 16 }, /imageSize\/channels \(16\/1\) disagree with its vit section \(8\/1\)/],
    ['more classes than the class embedding', { ...good, numClasses: vit.numClasses + 1 }, /numClasses 4 exceeds the network's class embedding \(3\)/],
  ])('names the problem: %s', (_name, value, message) => {
    const r = checkExportManifest(value);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(message);
    expect((r as Error).message).toMatch(/epg-eval export/);
  });
});
