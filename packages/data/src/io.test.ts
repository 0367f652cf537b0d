import * as E from 'fp-ts/Either';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isEpgError, orThrow } from '@epg/tensor';
import { loadImageFolder, loadMnist, readImage, readNpz, writeSampleGrid } from './io';
import { normalizeImages } from './transform';
import { syntheticImageSet } from './synthetic';
import { DataError } from './types';

describe('IO entry points (Either / TaskEither, never throwing)', () => {
  it('return data on the right and a tagged DataError (an EpgError with a kind) on the left', async () => {
    const ok = readNpz(join(__dirname, '__fixtures__', 'npz_positional.npz'));
    expect(E.isRight(ok) && [...ok.right.keys()]).toEqual(['arr_0', 'arr_1']);
    const bad = readNpz('/no/such/file.npz');
    expect(E.isLeft(bad) && bad.left).toBeInstanceOf(DataError);
    expect(E.isLeft(bad) && isEpgError(bad.left) && bad.left.kind).toBe('io');
    expect(E.isLeft(bad) && bad.left.message).toMatch(/\/no\/such\/file\.npz does not exist/);
    const split = loadMnist('x' as 'train');
    expect(E.isLeft(split) && split.left.kind).toBe('config');
    const tree = await loadImageFolder('/no/such/tree', { size: 8 })();
    expect(E.isLeft(tree) && tree.left.message).toMatch(/image folder \/no\/such\/tree does not exist/);
    expect(() => orThrow(bad)).toThrow(/does not exist/);
  });

  it('writeSampleGrid maps normalised samples back to the original bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epg-grid-'));
    try {
      const s = syntheticImageSet({ count: 4, size: 8, channels: 3 });
      const path = join(dir, 'g.png');
      orThrow(await writeSampleGrid(path, normalizeImages(s.images, 3, 'imagenet'), 4, 8, 3, 'imagenet', { columns: 4, padding: 0 })());
      const back = orThrow(await readImage(path)());
      // With no padding and one row, grid pixel (y, n·8 + x) is image n's pixel (y, x).
      for (let n = 0; n < 4; n++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) {
        if (back.data[(y * 32 + n * 8 + x) * 3 + c] !== s.images[((n * 8 + y) * 8 + x) * 3 + c]) throw new Error(`pixel ${n},${y},${x},${c} differs`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
