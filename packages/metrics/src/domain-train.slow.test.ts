// Trains the domain classifier on a toy task (≈ 1–5 min on cpu): EPG_SLOW=1 pnpm test:slow
import { RandomStream } from '@epg/tensor';
import { trainDomainClassifier, domainAccuracy } from './domain-train';

function bars(n: number, seed: number) {
  const rs = RandomStream.fromSeed(seed);
  const images = new Uint8Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    labels[i] = k;
    const shift = rs.int(5);
    for (let x = 2 + shift; x < 22 + shift; x++) images[i * 784 + (3 + 2 * k) * 28 + x] = 200 + rs.int(56);
  }
  return { images, labels, count: n, height: 28, width: 28, channels: 1 };
}

describe('trainDomainClassifier', () => {
  it('learns a 10-class toy task (bars at 10 heights) to > 90 % held-out accuracy', () => {
    const store = trainDomainClassifier(bars(640, 1), { epochs: 2, batchSize: 64, lr: 3e-3 });
    expect(domainAccuracy(store, bars(200, 2))).toBeGreaterThan(0.9);
    store.dispose();
  }, 900_000);
});
