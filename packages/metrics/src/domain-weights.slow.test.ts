// The shipped domain classifiers on the whole test split give exactly the accuracy recorded in their
// metadata (≈ 20 s each on cpu with native kernels; other backends may flip a few borderline images).
import { orThrow } from '@epg/tensor';
import { loadFashionMnist, loadMnist } from '@epg/data';
import { loadDomainClassifier, type DomainDataset } from './domain-extractor';
import { domainAccuracy } from './domain-train';

describe.each<DomainDataset>(['mnist', 'fashion-mnist'])('shipped %s domain classifier (full test split)', (dataset) => {
  it('reaches the recorded test accuracy', () => {
    const c = orThrow(loadDomainClassifier(dataset));
    try {
      const acc = domainAccuracy(c.store, orThrow(dataset === 'mnist' ? loadMnist('test') : loadFashionMnist('test')));
      expect(Math.abs(acc - c.testAccuracy)).toBeLessThanOrEqual(5e-4); // ≤ 5 of 10 000 images
    } finally {
      c.store.dispose();
    }
  }, 300_000);
});
