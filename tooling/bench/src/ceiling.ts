/**
 * The machine's float32 GEMM ceiling, measured by the benchmark itself: numpy's matmul (OpenBLAS on
 * these machines) on n×n through python3, with the environment's OPENBLAS_CORETYPE left as it is.
 * Rates are by wall time and by the measuring process's CPU time (robust to a busy machine).
 */
import { spawnSync } from 'node:child_process';

export interface GemmRate {
  /** GFLOP/s by wall time (best of the repetitions). */
  readonly wall: number;
  /** GFLOP/s by process CPU time (best of the repetitions). */
  readonly cpu: number;
}

export interface GemmCeiling {
  readonly oneThread: GemmRate;
  readonly allThreads: GemmRate;
  readonly note: string;
}

const NUMPY_GEMM = `
import numpy as np, sys, time
n = int(sys.argv[1])
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
wall, cpu = [], []
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    a @ b
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
print(2 * n ** 3 / min(wall) / 1e9, 2 * n ** 3 / min(cpu) / 1e9)
`;

/** Best-of-`reps` GFLOP/s of numpy float32 matmul with `threads` BLAS threads (undefined: all). */
export function numpyGemmRate(n: number, threads: number | undefined, reps: number): GemmRate {
  const env = { ...process.env };
  delete env.OPENBLAS_NUM_THREADS;
  delete env.OMP_NUM_THREADS;
  if (threads !== undefined) {
    env.OPENBLAS_NUM_THREADS = String(threads);
    env.OMP_NUM_THREADS = String(threads);
  }
  const r = spawnSync('python3', ['-c', NUMPY_GEMM, String(n), String(reps)], { encoding: 'utf8', env, timeout: 300_000 });
  const [wall, cpu] = (r.stdout ?? '').trim().split(/\s+/).map(Number);
  if (r.status !== 0 || !Number.isFinite(wall) || !Number.isFinite(cpu)) {
    const why = (r.stderr || r.error?.message || '').split('\n').filter(Boolean).pop() ?? 'no output';
    console.log(`numpy GEMM failed (${why}): ceiling unknown`);
    return { wall: NaN, cpu: NaN };
  }
  return { wall, cpu };
}

/** The ceiling on 1 thread and on all threads (2048², best of 5; 2 in quick mode). */
export function measureGemmCeiling(quickRun = false): GemmCeiling {
  const n = 2048;
  const reps = quickRun ? 2 : 5;
  return {
    oneThread: numpyGemmRate(n, 1, reps),
    allThreads: numpyGemmRate(n, undefined, reps),
    note: `numpy float32 matmul ${n}², best of ${reps}, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}`,
  };
}

/** Element-wise best of two ceiling measurements (e.g. taken before and after the work measured). */
export function bestCeiling(a: GemmCeiling, b: GemmCeiling): GemmCeiling {
  const best = (x: GemmRate, y: GemmRate): GemmRate => ({ wall: Math.max(x.wall, y.wall), cpu: Math.max(x.cpu, y.cpu) });
  return { oneThread: best(a.oneThread, b.oneThread), allThreads: best(a.allThreads, b.allThreads), note: a.note };
}
