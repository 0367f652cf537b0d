/**
 * A deterministic synthetic labelled set for tests and smoke runs: class k draws a filled disc
 * whose centre, radius and colour depend on k, on a background of seeded noise, so classes are
 * separable and every pixel is reproducible from (seed, index).
 */
import { RandomStream } from '@epg/tensor';
import { DataError, type ImageSet } from './types';

export interface SyntheticOptions {
  readonly count: number;
  readonly size: number;
  readonly channels?: 1 | 3;
  readonly numClasses?: number;
  readonly seed?: number;
  /** Background noise amplitude in grey levels (default 40). */
  readonly noise?: number;
}

export function syntheticImageSet(opts: SyntheticOptions): ImageSet {
  const { count, size } = opts;
  const channels = opts.channels ?? 3;
  const numClasses = opts.numClasses ?? 10;
  const seed = opts.seed ?? 0;
  const noise = opts.noise ?? 40;
  if (!Number.isInteger(count) || count < 0) throw new DataError(`syntheticImageSet: count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(size) || size < 4) throw new DataError(`syntheticImageSet: size must be an integer ≥ 4, got ${size}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new DataError(`syntheticImageSet: numClasses must be ≥ 1, got ${numClasses}`);
  const per = size * size * channels;
  const images = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % numClasses;
    labels[n] = label;
    const rs = RandomStream.derive(seed, n, 'synthetic');
    const angle = (2 * Math.PI * label) / numClasses;
    const cx = size / 2 + (size / 4) * Math.cos(angle) + rs.uniformIn(-1, 1);
    const cy = size / 2 + (size / 4) * Math.sin(angle) + rs.uniformIn(-1, 1);
    const radius = size * (0.15 + (0.1 * label) / numClasses);
    const colour = [80 + ((label * 53) % 176), 80 + ((label * 97) % 176), 80 + ((label * 151) % 176)];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius * radius;
        for (let c = 0; c < channels; c++) {
          const v = inside ? colour[c] : 20 + noise * rs.uniform();
          images[n * per + (y * size + x) * channels + c] = Math.round(v);
        }
      }
    }
  }
  return { images, labels, count, height: size, width: size, channels, classNames: Array.from({ length: numClasses }, (_, k) => `class-${k}`) };
}
