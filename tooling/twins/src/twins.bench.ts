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
 * (1,2), TWIN_REPS (5), EPG_TORCH_PYTHON (/usr/bin/python3 when present: Debian's python3-torch).
 * python3-torch comes from Debian apt (`apt-get install python3-torch python3-torchvision`); without
 * it the PyTorch columns say why and only our times are printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { printTable, processCpuMs, type Row } from '@epg/bench';
import { AdamW, initBackend, normalTensor, ParameterStore, RandomStream, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { PRESETS, buildFinetuneNetwork, buildPretrainModel, freezeEncoder, makeEncoderFn, type PresetName, type ViTConfig } from '@epg/vit';
import { boundaryDenoiser, diffusionTrainStep, x0Denoiser } from '@epg/diffusion';
import { encoderAt } from '@epg/contracts';
import { Pretrainer, ntXent, pretrainConfig } from '@epg/ssl';
import { EPG_CM_AUXILIARY, EPG_CM_CONFIG, EPG_CM_OPTIMIZER, consistencyTrainStep } from '@epg/consistency';
import { noiseSpace } from '@epg/schedules';
import { createInceptionExtractor, randomInceptionWeights } from '@epg/metrics';

const env = (k: string, d: string) => process.env[k] ?? d;
const PRESET = env('TWIN_PRESET', 'cpu-tiny') as PresetName;
if (!(PRESET in PRESETS)) throw new Error(`TWIN_PRESET=${PRESET} is not a preset: use one of ${Object.keys(PRESETS).join(', ')}`);
const base = PRESETS[PRESET] as ViTConfig;
const CFG: ViTConfig = {
  ...base,
  encoder: { ...base.encoder, depth: Number(env('TWIN_ENC_DEPTH', '3')) },
  decoder: base.decoder && { ...base.decoder, depth: Number(env('TWIN_DEC_DEPTH', '3')) },
};
const BATCH = Number(env('TWIN_BATCH', '64'));
const REPS = Number(env('TWIN_REPS', '5'));
const DENOISE_BATCH = 256;
const INCEPTION_BATCH = 8;
const ALL = ['encoder', 'pretrain-step', 'dm-step', 'cm-step', 'denoise', 'inception'];
const WORKLOADS = env('TWIN_WORKLOADS', ALL.join(',')).split(',');

interface Times {
  cpu: number;
  wall: number;
}

/** Seconds per call; the tensor count must stay flat across the timed calls. */
function timed(fn: () => void, reps: number, warmup = 2): Times {
  for (let i = 0; i < warmup; i++) fn();
  const tensors = tf.memory().numTensors;
  const c0 = processCpuMs();
  const w0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  const r = { cpu: (processCpuMs() - c0) / 1000 / reps, wall: (performance.now() - w0) / 1000 / reps };
  if (tf.memory().numTensors !== tensors) throw new Error(`twins: ${tf.memory().numTensors - tensors} tensors leaked per ${reps} calls`);
  return r;
}

/**
 * Our side of one workload. (AdamW's constructor leaves its two zerosLike initial values per
 * parameter undisposed, @epg/tensor optim: reported, not fixed here; the timed loop itself is flat.)
 */
/** The twins feed σ to the images unshifted (PyTorch's side does the same). */
const SPACE = noiseSpace(CFG.imageSize, { shift: 'none' });

function ours(name: string): Times {
  const store = ParameterStore.create();
  const rs = RandomStream.fromSeed(1);
  const S = CFG.imageSize;
  const C = CFG.channels;
  let r: Times;
  if (name === 'encoder') {
    const enc = buildPretrainModel(store, CFG, { rng: rs.child('init') });
    store.train();
    const x = normalTensor(rs.child('x'), [BATCH, S, S, C]) as tf.Tensor4D;
    const t = Float64Array.from({ length: BATCH }, (_, i) => 250 * Math.log(0.01 + i));
    const vars = store.trainableEntries().map((e) => e.variable);
    r = timed(() => {
      const { value, grads } = tf.variableGrads(() => {
        const o = enc(x, t);
        return tf.add(tf.mean(tf.square(o.proj!)), tf.mean(tf.square(o.cls))) as tf.Scalar;
      }, vars);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    }, REPS);
    x.dispose();
  } else if (name === 'dm-step') {
    const net = buildFinetuneNetwork(store, CFG, { rng: rs.child('init') });
    store.train();
    const optimizer = new AdamW(store, { lr: 1e-4, weightDecay: 0 });
    const denoiser = x0Denoiser(net, SPACE);
    const x0 = normalTensor(rs.child('x0'), [BATCH, S, S, C]) as tf.Tensor4D;
    let step = 0;
    r = timed(() => {
      diffusionTrainStep({ store, optimizer, denoiser, x0, space: SPACE, rs: RandomStream.derive(0, step++, 'diffusion'), clipNorm: 0.5 });
    }, REPS);
    x0.dispose();
    optimizer.dispose();
  } else if (name === 'pretrain-step') {
    const cfg = pretrainConfig('epg', { totalSteps: 1000 });
    const space = noiseSpace(S, { shift: cfg.shift });
    buildPretrainModel(store, CFG, { rng: rs.child('init') });
    store.train();
    const targetStore = store.clone();
    const online = encoderAt(makeEncoderFn(store, CFG), space);
    const target = encoderAt(makeEncoderFn(targetStore, CFG), space);
    const pre = Pretrainer.create(cfg, { online, target, onlineStore: store, targetStore }, { space, seed: 1 });
    const [x0, view1, view2] = ['x0', 'v1', 'v2'].map((k) => normalTensor(rs.child(k), [BATCH, S, S, C]) as tf.Tensor4D);
    r = timed(() => void pre.step({ x0, view1, view2 }), REPS);
    tf.dispose([x0, view1, view2]);
    pre.dispose();
    targetStore.dispose();
  } else if (name === 'cm-step') {
    const space = noiseSpace(S);
    const net = buildFinetuneNetwork(store, CFG, { rng: rs.child('init') });
    store.train();
    const pretrained = ParameterStore.create();
    buildPretrainModel(pretrained, CFG, { rng: rs.child('pre') });
    const frozen = freezeEncoder(pretrained, CFG);
    pretrained.dispose();
    const optimizer = new AdamW(store, { ...EPG_CM_OPTIMIZER });
    const denoiser = boundaryDenoiser(net, space);
    const x0 = normalTensor(rs.child('x0'), [BATCH, S, S, C]) as tf.Tensor4D;
    const auxiliary = { ...EPG_CM_AUXILIARY, encoder: encoderAt(frozen.encoder, space), loss: ntXent, frozenStore: frozen.store };
    let step = 0;
    r = timed(() => void consistencyTrainStep({ store, optimizer, denoiser, x0, space, rs: RandomStream.derive(0, step++, 'cm'), config: EPG_CM_CONFIG, auxiliary }), REPS);
    x0.dispose();
    optimizer.dispose();
    frozen.store.dispose();
  } else if (name === 'denoise') {
    const net = buildFinetuneNetwork(store, CFG, { rng: rs.child('init') });
    store.eval();
    const denoiser = x0Denoiser(net, SPACE);
    const x = normalTensor(rs.child('x'), [DENOISE_BATCH, S, S, C]) as tf.Tensor4D;
    const sigma = Float64Array.from({ length: DENOISE_BATCH }, (_, i) => Math.exp(-3 + (6 * i) / (DENOISE_BATCH - 1)));
    r = timed(() => tf.tidy(() => void denoiser(x, sigma).dataSync()), REPS);
    x.dispose();
  } else if (name === 'inception') {
    const netI = createInceptionExtractor(randomInceptionWeights(rs.child('inception')));
    const px = tf.tidy(() => tf.mul(tf.randomUniform([INCEPTION_BATCH, 32, 32, 3], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
    const t = timed(() => tf.tidy(() => void netI.extract(px).dataSync()), Math.max(1, Math.floor(REPS / 2)), 1);
    r = { cpu: t.cpu / INCEPTION_BATCH, wall: t.wall / INCEPTION_BATCH };
    px.dispose();
    netI.dispose();
  } else {
    throw new Error(`unknown workload '${name}'`);
  }
  store.dispose();
  return r;
}

interface TorchOut {
  torch: string;
  blas: string;
  threads: number;
  results: Record<string, Times>;
}

function torchSide(threads: number, workloads: string[]): TorchOut | string {
  const py = process.env.EPG_TORCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const spec = {
    threads, workloads, batch: BATCH, reps: REPS, denoiseBatch: DENOISE_BATCH, inceptionBatch: INCEPTION_BATCH, clipNorm: 0.5,
    vit: { imageSize: CFG.imageSize, channels: CFG.channels, patchSize: CFG.patchSize, mlpRatio: CFG.mlpRatio, encoder: CFG.encoder, decoder: CFG.decoder, projector: CFG.projector },
  };
  const n = String(threads);
  const r = spawnSync(py, [join(__dirname, '..', 'torch', 'twins.py'), JSON.stringify(spec)], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return `PyTorch twin failed (${py}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchOut;
}

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
    // Interleaved per workload (PyTorch, then ours), so both see the same machine load.
    for (const w of runnable) {
      const th = torchSide(threads, [w]);
      if (typeof th === 'string') console.log(th);
      else if (w === runnable[0]) console.log(`threads ${threads}: ours ${native.why}; PyTorch ${th.torch}: ${th.blas}, ${th.threads} thread(s)`);
      const o = ours(w);
      const t = typeof th === 'string' ? undefined : th.results[w];
      rows.push({
        workload: w,
        threads,
        'ours cpu s': o.cpu,
        'torch cpu s': t ? t.cpu : '-',
        'ratio cpu': t ? o.cpu / t.cpu : '-',
        'ours wall s': o.wall,
        'torch wall s': t ? t.wall : '-',
        'ratio wall': t ? o.wall / t.wall : '-',
      });
    }
  }
  console.log(`backend: ${backend.name}`);
  printTable('project / PyTorch (per call; ratio < 1: we are faster)', rows);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
