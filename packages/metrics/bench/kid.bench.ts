/**
 * `pnpm bench:kid`: KID with its default protocol (100 subsets of 1000, cubic kernel) at d = 2048
 * and float64 statistics of 10 000 × 2048 features, against numpy (float64, same BLAS family) in the
 * same run: numpy times one subset's MMD² (three Gram matrices + kernel sums) and one covariance.
 * EPG_BENCH_QUICK=1: 5 subsets, extrapolated.
 */
import { spawnSync } from 'node:child_process';
import { printTable, processCpuMs, quick, type Row } from '@epg/bench';
import { hostBlasNative, RandomStream } from '@epg/tensor';
import { kernelInceptionDistance } from '../src/kid';
import { featureStatistics } from '../src/stats';

const D = 2048;
const N = 10000;

function numpyTimes(): { mmdSubset: number; cov: number } | string {
  const py = `
import time, numpy as np
rng = np.random.default_rng(0)
d, m, n = ${D}, 1000, ${N}
x = rng.standard_normal((m, d)); y = rng.standard_normal((m, d))
def mmd(x, y):
    k = lambda a, b: (a @ b.T / d + 1) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
mmd(x, y); t = time.process_time(); mmd(x, y); a = time.process_time() - t
f = rng.standard_normal((n, d)); t = time.process_time(); np.cov(f, rowvar=False); b = time.process_time() - t
print(a, b)`;
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) return `numpy unavailable: ${(r.stderr || '').trim().split('\n').pop()}`;
  const [a, b] = r.stdout.trim().split(/\s+/).map(Number);
  return { mmdSubset: a, cov: b };
}

async function main(): Promise<void> {
  console.log(`float64 products: ${hostBlasNative() ? 'OpenBLAS (native addon)' : 'JS fallback'}`);
  const rs = RandomStream.fromSeed(7);
  const fx = new Float32Array(N * D);
  const fy = new Float32Array(N * D);
  rs.child('x').fillNormal(fx);
  rs.child('y').fillNormal(fy);
  const subsets = quick() ? 5 : 100;
  let c0 = processCpuMs();
  let w0 = performance.now();
  const kid = kernelInceptionDistance({ data: fx, count: N, dim: D }, { data: fy, count: N, dim: D }, { subsets });
  const kidCpu = ((processCpuMs() - c0) / 1000) * (100 / subsets);
  const kidWall = ((performance.now() - w0) / 1000) * (100 / subsets);
  c0 = processCpuMs();
  w0 = performance.now();
  featureStatistics(fx, D, 'bench');
  const statCpu = (processCpuMs() - c0) / 1000;
  const statWall = (performance.now() - w0) / 1000;
  const np = numpyTimes();
  const rows: Row[] = [
    { task: 'KID, 100 subsets × 1000, d = 2048', impl: 'ours', 'cpu s': kidCpu, 'wall s': kidWall, note: `${subsets < 100 ? `extrapolated from ${subsets} subsets; ` : ''}KID ${kid.mean.toExponential(3)}` },
    { task: 'float64 mean + covariance, 10 000 × 2048', impl: 'ours', 'cpu s': statCpu, 'wall s': statWall, note: '' },
  ];
  if (typeof np === 'string') console.log(np);
  else {
    rows.splice(1, 0, { task: 'KID, 100 subsets × 1000, d = 2048', impl: 'numpy float64, 1 thread', 'cpu s': np.mmdSubset * 100, 'wall s': '-', note: 'one subset × 100' });
    rows.push({ task: 'float64 mean + covariance, 10 000 × 2048', impl: 'numpy.cov, 1 thread', 'cpu s': np.cov, 'wall s': '-', note: '' });
    rows[0].note += `; ${(kidCpu / (np.mmdSubset * 100)).toFixed(2)}× numpy`;
    rows[2].note = `${(statCpu / np.cov).toFixed(2)}× numpy`;
  }
  printTable('KID and FID statistics at d = 2048 (process CPU time)', rows);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
