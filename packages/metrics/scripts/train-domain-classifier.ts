/**
 * Trains the domain classifiers and writes their weights into a directory of your choice:
 *   pnpm --filter @epg/metrics train-domain [mnist|fashion-mnist ...] --out DIR
 * Uses the cpu backend with native kernels when they are built, else wasm (EPG_BACKEND overrides).
 * Evaluation never trains: it reads the files shipped in weights/ (or a path passed explicitly). To
 * replace the shipped files, run this with `--out weights` and commit them; their SHA-256 changes, and
 * with it the extractor name (`domain-<dataset>@<hash>/fc1`), so FIDs and statistics made with the old
 * files no longer compare with new ones (docs/metrics.md, "Domain FID").
 */
import { initBackend, orThrow } from '@epg/tensor';
import { trainDomainWeights, type DomainDataset } from '../src/domain-extractor';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  if (i < 0 || !args[i + 1]) throw new Error('train-domain-classifier: pass --out DIR (e.g. --out weights to replace the shipped files)');
  const outDir = args.splice(i, 2)[1];
  const datasets = (args.length ? args : ['mnist', 'fashion-mnist']) as DomainDataset[];
  for (const d of datasets) {
    if (d !== 'mnist' && d !== 'fashion-mnist') throw new Error(`unknown dataset '${d}': use mnist or fashion-mnist`);
  }
  await initBackend(); // EPG_BACKEND or automatic (cpu with native kernels when built, else wasm)
  for (const d of datasets) {
    const r = orThrow(trainDomainWeights(d, outDir, { log: (l) => console.log(l) }));
    console.log(`${d}: test accuracy ${(100 * r.testAccuracy).toFixed(2)} % (${r.seconds.toFixed(0)} s) -> ${r.path}; sha256 ${r.sha256}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
