/**
 * `pnpm bench` (tooling/twins): our CPU training steps, sampling call and Inception features against
 * PyTorch twins (torch/twins.py) on the same machine, in the same process tree, with 1 and 2 BLAS
 * threads on each side. Prints project/PyTorch ratios of process CPU time and of wall time, and
 * which BLAS build and core each side ran.
 *
 * Workloads (TWIN_WORKLOADS, comma-separated; default all that exist):
 * - encoder:   pre-training unit forward+backward (encoder + projector, BatchNorm in training mode);
 * - dm-step:   one EPG DM fine-tuning step (x0 denoiser, EPG_DM_CONFIG σ, weighted MSE, clip 0.5, AdamW);
 * - denoise:   one denoiser call at batch 256 (eval mode) = one sampling step;
 * - inception: Inception-v3 pool3 features per image (32 px RGB resized to 299² inside);
 * - pretrain-step: one @epg/ssl `Pretrainer.step` ('epg' config: 2 target + 1 key forward without tape,
 *   3 online passes in the tape, NT-Xent both terms, AdamW, target EMA) on the encoder + projector;
 * - cm-step: one @epg/consistency `consistencyTrainStep` (ECT pairs, target pass without tape, online
 *   pass, ECT distance, auxiliary NT-Xent through a frozen encoder + projector in eval mode, AdamW).
 * Env: TWIN_PRESET (cpu-tiny), TWIN_ENC_DEPTH / TWIN_DEC_DEPTH (3 / 3), TWIN_BATCH (64), TWIN_THREADS
 * (1,2), TWIN_REPS (5), TWIN_ROUNDS (1: PyTorch/ours pairs per row, median shown), EPG_TORCH_PYTHON (/usr/bin/python3 when present: Debian's python3-torch).
 * python3-torch comes from Debian apt (`apt-get install python3-torch python3-torchvision`); without
 * it the PyTorch columns say why and only our times are printed.
 */
import { printTable, type Row } from '@epg/bench';
import { initBackend, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { poolStats } from '@epg/tensor-native';
import { ALL, BATCH, CFG, PRESET, WORKLOADS, env, ours, torchSide, type Times } from './workloads';

const ROUNDS = Number(env('TWIN_ROUNDS', '1'));

async function main(): Promise<void> {
  const backend = await initBackend({ force: 'cpu', log: null });
  const unknown = WORKLOADS.filter((w) => !ALL.includes(w));
  if (unknown.length) throw new Error(`TWIN_WORKLOADS: unknown workload(s) ${unknown.join(', ')}; use some of ${ALL.join(', ')}`);
  const runnable = WORKLOADS;
  console.log(`config: ${PRESET} with encoder ${CFG.encoder.depth} + decoder ${CFG.decoder?.depth} blocks, width ${CFG.encoder.width}, batch ${BATCH}; machine load ${(await import('node:os')).loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const rows: Row[] = [];
  for (const threads of env('TWIN_THREADS', '1,2').split(',').map(Number)) {
    unregisterNativeKernels();
    const native = registerNativeKernels({ threads });
    if (!native.active) throw new Error(`native kernels inactive (${native.why}): the comparison is for the cpu+native path`);
    // Interleaved per workload (PyTorch, then ours), so both see the same machine load; with
    // TWIN_ROUNDS > 1 the pair repeats and the row shows the median of each column's samples (on a
    // shared machine one pair can land in a busy or a quiet minute for one side only).
    for (const w of runnable) {
      const samples: Array<{ o: Times; t?: Times }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        const th = torchSide(threads, [w]);
        if (typeof th === 'string') console.log(th);
        else if (w === runnable[0] && round === 0) console.log(`threads ${threads}: ours ${native.why}; PyTorch ${th.torch}: ${th.blas}, ${th.threads} thread(s)`);
        const o = ours(w);
        const t = typeof th === 'string' ? undefined : th.results[w];
        samples.push({ o, t });
        // One line per sample as it lands (a full run takes minutes; the table follows at the end).
        console.log(`  ${w} ×${threads}${ROUNDS > 1 ? ` round ${round + 1}` : ''}: ours ${o.cpu.toFixed(3)} CPU-s, PyTorch ${t ? t.cpu.toFixed(3) : '-'} CPU-s${t ? `, ratio ${(o.cpu / t.cpu).toFixed(2)}` : ''}`);
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
      const paired = samples.filter((x) => x.t) as Array<{ o: Times; t: Times }>;
      const has = paired.length === samples.length;
      rows.push({
        workload: w,
        threads,
        'ours cpu s': med(samples.map((x) => x.o.cpu)),
        'torch cpu s': has ? med(paired.map((x) => x.t.cpu)) : '-',
        'ratio cpu': has ? med(paired.map((x) => x.o.cpu / x.t.cpu)) : '-',
        'ours wall s': med(samples.map((x) => x.o.wall)),
        'torch wall s': has ? med(paired.map((x) => x.t.wall)) : '-',
        'ratio wall': has ? med(paired.map((x) => x.o.wall / x.t.wall)) : '-',
      });
    }
  }
  const pool = poolStats();
  console.log(`backend: ${backend.name}; native output pool: ${(pool.pooledBytes / 2 ** 20).toFixed(0)} MB held at the end, ${pool.reused} outputs reused, ${pool.fresh} allocated, ${pool.escaped} escaped (read back)`);
  printTable(`project / PyTorch (per call${ROUNDS > 1 ? `, median of ${ROUNDS} paired rounds` : ''}; ratio < 1: we are faster)`, rows);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
