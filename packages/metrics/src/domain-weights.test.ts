// The domain-classifier weights shipped in weights/ (made by scripts/train-domain-classifier.ts):
// they load, their extractor names carry their hashes, and on a fixed subset of the test split they
// reach the accuracy recorded in their metadata (full split: domain-weights.slow.test.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { orThrow } from '@epg/tensor';
import { loadFashionMnist, loadMnist } from '@epg/data';
import { DOMAIN_MIN_ACCURACY, DOMAIN_WEIGHTS_DIR, domainWeightsFileName, loadDomainClassifier, type DomainDataset } from './domain-extractor';
import { domainAccuracy } from './domain-train';

/** Every `stride`-th test image: a subset spread over the split (stride coprime with 10: one loader orders the split by class cyclically). */
function strided(dataset: DomainDataset, stride: number) {
  const test = orThrow(dataset === 'mnist' ? loadMnist('test') : loadFashionMnist('test'));
  const n = Math.floor(test.count / stride);
  const images = new Uint8Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images.set(test.images.subarray(i * stride * 784, (i * stride + 1) * 784), i * 784);
    labels[i] = test.labels[i * stride];
  }
  return { images, labels, count: n, height: 28, width: 28, channels: 1 };
}

describe.each<DomainDataset>(['mnist', 'fashion-mnist'])('shipped %s domain classifier', (dataset) => {
  it('loads from the package, names its hash, and reaches its recorded accuracy on 909 test images', () => {
    const path = join(DOMAIN_WEIGHTS_DIR, domainWeightsFileName(dataset));
    const c = orThrow(loadDomainClassifier(dataset));
    try {
      expect(c.path).toBe(path);
      const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
      expect(c.extractor.name).toBe(`domain-${dataset}@${sha.slice(0, 16)}/fc1`);
      expect(c.metadata.dataset).toBe(dataset);
      expect(c.testAccuracy).toBeGreaterThanOrEqual(DOMAIN_MIN_ACCURACY[dataset]);
      const sub = strided(dataset, 11);
      const acc = domainAccuracy(c.store, sub);
      // binomial spread of a 909-image subset around the full-split accuracy p: 4 standard deviations
      const p = c.testAccuracy;
      expect(Math.abs(acc - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / sub.count));
    } finally {
      c.store.dispose();
    }
  });
});
