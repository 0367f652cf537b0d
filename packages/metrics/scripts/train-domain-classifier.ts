/**
 * Trains (or reads from the cache) the domain classifiers and prints their test accuracy:
 *   pnpm tsx scripts/train-domain-classifier.ts [mnist|fashion-mnist ...] [--cache-dir DIR]
 * Uses the cpu backend with native kernels when they are built, else wasm (EPG_BACKEND overrides). The eval app calls the same
 * `ensureDomainClassifier`, so running this once fills the cache it reads.
 */
import { initBackend } from '@epg/tensor';
import { ensureDomainClassifier, type DomainDataset } from '../src/domain-extractor';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--cache-dir');
  const cacheDir = i >= 0 ? args.splice(i, 2)[1] : undefined;
  const datasets = (args.length ? args : ['mnist', 'fashion-mnist']) as DomainDataset[];
  for (const d of datasets) {
    if (d !== 'mnist' && d !== 'fashion-mnist') throw new Error(`unknown dataset '${d}': use mnist or fashion-mnist`);
  }
  await initBackend(); // EPG_BACKEND or automatic (cpu with native kernels when built, else wasm)
  for (const d of datasets) {
    const t0 = Date.now();
    const c = ensureDomainClassifier(d, { cacheDir, log: (l) => console.log(l) });
    console.log(
      `${d}: test accuracy ${(100 * c.testAccuracy).toFixed(2)} % (${c.trained ? 'trained' : 'cached'}, ${((Date.now() - t0) / 1000).toFixed(0)} s) -> ${c.path}; extractor ${c.extractor.name}`,
    );
    c.store.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
