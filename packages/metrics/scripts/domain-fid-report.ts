/**
 * The sanity check of the domain FID: test split vs train split (small) against test
 * images blurred or noised (large). Uses the shipped classifier weights.
 *   pnpm tsx scripts/domain-fid-report.ts [mnist|fashion-mnist ...] [--train-count N]
 * Prints one line per comparison with the FID, image counts and seconds.
 */
import { initBackend, orThrow, RandomStream } from '@epg/tensor';
import { gaussianBlur, loadFashionMnist, loadMnist, type ImageSet } from '@epg/data';
import { loadDomainClassifier, type DomainDataset } from '../src/domain-extractor';
import { computeStatistics, type PixelSource } from '../src/features';
import { frechetDistance } from '../src/frechet';

function blurred(set: ImageSet, sigma: number): PixelSource {
  const out = new Uint8Array(set.images.length);
  const img = new Float32Array(784);
  const tmp = new Float32Array(784);
  for (let i = 0; i < set.count; i++) {
    for (let j = 0; j < 784; j++) img[j] = set.images[i * 784 + j];
    gaussianBlur(img, 28, 28, 1, sigma, tmp);
    for (let j = 0; j < 784; j++) out[i * 784 + j] = Math.min(255, Math.max(0, Math.round(img[j])));
  }
  return { ...set, images: out };
}

function noisy(set: ImageSet, std: number, seed: number): PixelSource {
  const rs = RandomStream.fromSeed(seed);
  const out = new Uint8Array(set.images.length);
  for (let k = 0; k < out.length; k++) out[k] = Math.min(255, Math.max(0, Math.round(set.images[k] + std * rs.normal())));
  return { ...set, images: out };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--train-count');
  const trainCount = i >= 0 ? Number(args.splice(i, 2)[1]) : 60000;
  const datasets = (args.length ? args : ['mnist', 'fashion-mnist']) as DomainDataset[];
  await initBackend(); // EPG_BACKEND or automatic (cpu with native kernels when built, else wasm)
  for (const d of datasets) {
    const c = orThrow(loadDomainClassifier(d));
    const load = (split: 'train' | 'test') => orThrow(d === 'mnist' ? loadMnist(split) : loadFashionMnist(split));
    const trainFull = load('train');
    const n = Math.min(trainCount, trainFull.count);
    const train: PixelSource = { ...trainFull, count: n, images: trainFull.images.subarray(0, n * 784) };
    const test = load('test');
    let t0 = Date.now();
    const ref = computeStatistics(c.extractor, train);
    console.log(`${d}: reference statistics of ${n} train images in ${((Date.now() - t0) / 1000).toFixed(1)} s (${c.extractor.name}, test acc ${(100 * c.testAccuracy).toFixed(2)} %)`);
    const cases: [string, PixelSource][] = [
      ['test split (10000)', test],
      ['test, Gaussian blur σ=1 px', blurred(test, 1)],
      ['test, Gaussian blur σ=2 px', blurred(test, 2)],
      ['test, Gaussian noise σ=25/255', noisy(test, 25, 1)],
      ['test, Gaussian noise σ=75/255', noisy(test, 75, 2)],
    ];
    for (const [label, src] of cases) {
      t0 = Date.now();
      const st = computeStatistics(c.extractor, src);
      const fid = frechetDistance(st, ref);
      console.log(`${d}: FID(train ${n} vs ${label}) = ${fid.toFixed(3)}   [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    }
    c.store.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
