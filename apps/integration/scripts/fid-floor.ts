// Domain-FID floors on MNIST (docs/consistency.md, "MNIST check"): real train images vs the test set at
// a few sample counts, and two degenerate sets (hashed noise, all black). tsx scripts/fid-floor.ts
import { loadMnist } from '@epg/data';
import { computeStatistics, frechetDistance, loadDomainClassifier } from '@epg/metrics';
import { initBackend, orThrow } from '@epg/tensor';

async function main(): Promise<void> {
  await initBackend({ force: 'cpu', log: null });
  const train = orThrow(loadMnist('train'));
  const test = orThrow(loadMnist('test'));
  const domain = orThrow(loadDomainClassifier('mnist'));
  const set = (images: Uint8Array, count: number) => ({ images, count, height: 28, width: 28, channels: 1 });
  const ref = computeStatistics(domain.extractor, set(test.images, test.count));
  const fid = (images: Uint8Array, count: number) => frechetDistance(computeStatistics(domain.extractor, set(images, count)), ref).toFixed(2);
  for (const n of [256, 1000, 2000]) console.log(`real train ${n} vs test: ${fid(train.images.subarray(0, n * 784), n)}`);
  // A deterministic byte pattern (Knuth's multiplicative hash), not a random stream: only its spread matters.
  const noise = Uint8Array.from({ length: 1000 * 784 }, (_, i) => (i * 2654435761) % 251);
  console.log(`hashed noise 1000 vs test: ${fid(noise, 1000)}`);
  console.log(`black 1000 vs test: ${fid(new Uint8Array(1000 * 784), 1000)}`);
  domain.store.dispose();
}
void main();
