/**
 * The twins' workloads, shared by the bench (twins.bench.ts) and the profiler (profile.ts): our side
 * of each (the packages' public APIs), the PyTorch side (torch/twins.py, run as a child process) and
 * the CPU/wall timer. Configuration from the environment: see twins.bench.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { processCpuMs } from '@epg/bench';
import { AdamW, normalTensor, ParameterStore, RandomStream } from '@epg/tensor';
import { PRESETS, buildFinetuneNetwork, buildPretrainModel, freezeEncoder, makeEncoderFn, type PresetName, type ViTConfig } from '@epg/vit';
import { boundaryDenoiser, diffusionTrainStep, x0Denoiser } from '@epg/diffusion';
import { encoderAt } from '@epg/contracts';
import { Pretrainer, ntXent, pretrainConfig } from '@epg/ssl';
import { EPG_CM_AUXILIARY, EPG_CM_CONFIG, EPG_CM_OPTIMIZER, consistencyTrainStep } from '@epg/consistency';
import { noiseSpace } from '@epg/schedules';
import { createInceptionExtractor, randomInceptionWeights } from '@epg/metrics';

export const env = (k: string, d: string) => process.env[k] ?? d;
export const PRESET = env('TWIN_PRESET', 'cpu-tiny') as PresetName;
if (!(PRESET in PRESETS)) throw new Error(`TWIN_PRESET=${PRESET} is not a preset: use one of ${Object.keys(PRESETS).join(', ')}`);
const base = PRESETS[PRESET] as ViTConfig;
export const CFG: ViTConfig = {
  ...base,
  encoder: { ...base.encoder, depth: Number(env('TWIN_ENC_DEPTH', '3')) },
  decoder: base.decoder && { ...base.decoder, depth: Number(env('TWIN_DEC_DEPTH', '3')) },
};
export const BATCH = Number(env('TWIN_BATCH', '64'));
export const REPS = Number(env('TWIN_REPS', '5'));
export const DENOISE_BATCH = 256;
const INCEPTION_BATCH = 8;
export const ALL = ['encoder', 'pretrain-step', 'dm-step', 'cm-step', 'denoise', 'inception'];
export const WORKLOADS = env('TWIN_WORKLOADS', ALL.join(',')).split(',');

export interface Times {
  cpu: number;
  wall: number;
}

/** Seconds per call; the tensor count must stay flat across the timed calls. */
export function timed(fn: () => void, reps: number, warmup = 2): Times {
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
 * Our side of one workload: `run` is one call (one step, one denoiser call, one Inception batch),
 * `perCall` divides its time into the row's unit, `dispose` frees everything it built. (AdamW's
 * constructor leaves its two zerosLike initial values per parameter undisposed, @epg/tensor optim:
 * reported, not fixed here; `run` itself is flat.)
 */
export interface Workload {
  readonly run: () => void;
  readonly perCall: number;
  readonly reps: number;
  readonly warmup: number;
  dispose(): void;
}

/** The twins feed σ to the images unshifted (PyTorch's side does the same) in the encoder/DM/denoise rows. */
const SPACE = noiseSpace(CFG.imageSize, { shift: 'none' });

export function buildWorkload(name: string): Workload {
  const store = ParameterStore.create();
  const rs = RandomStream.fromSeed(1);
  const S = CFG.imageSize;
  const C = CFG.channels;
  const done: Array<() => void> = [];
  const make = (run: () => void, extra: { perCall?: number; reps?: number; warmup?: number } = {}): Workload => ({
    run,
    perCall: extra.perCall ?? 1,
    reps: extra.reps ?? REPS,
    warmup: extra.warmup ?? 2,
    dispose() {
      for (const d of done) d();
      store.dispose();
    },
  });
  if (name === 'encoder') {
    const enc = buildPretrainModel(store, CFG, { rng: rs.child('init') });
    store.train();
    const x = normalTensor(rs.child('x'), [BATCH, S, S, C]) as tf.Tensor4D;
    const t = Float64Array.from({ length: BATCH }, (_, i) => 250 * Math.log(0.01 + i));
    const vars = store.trainableEntries().map((e) => e.variable);
    done.push(() => x.dispose());
    return make(() => {
      const { value, grads } = tf.variableGrads(() => {
        const o = enc(x, t);
        return tf.add(tf.mean(tf.square(o.proj!)), tf.mean(tf.square(o.cls))) as tf.Scalar;
      }, vars);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    });
  }
  if (name === 'dm-step') {
    const net = buildFinetuneNetwork(store, CFG, { rng: rs.child('init') });
    store.train();
    const optimizer = new AdamW(store, { lr: 1e-4, weightDecay: 0 });
    const denoiser = x0Denoiser(net, SPACE);
    const x0 = normalTensor(rs.child('x0'), [BATCH, S, S, C]) as tf.Tensor4D;
    done.push(() => x0.dispose(), () => optimizer.dispose());
    let step = 0;
    return make(() => void diffusionTrainStep({ store, optimizer, denoiser, x0, space: SPACE, rs: RandomStream.derive(0, step++, 'diffusion'), clipNorm: 0.5 }));
  }
  if (name === 'pretrain-step') {
    // @epg/ssl's EPG step as apps/integration's setupPretraining assembles it (shift H/64, EMA target).
    const cfg = pretrainConfig('epg', { totalSteps: 1000 });
    const space = noiseSpace(S, { shift: cfg.shift });
    buildPretrainModel(store, CFG, { rng: rs.child('init') });
    store.train();
    const targetStore = store.clone();
    const online = encoderAt(makeEncoderFn(store, CFG), space);
    const target = encoderAt(makeEncoderFn(targetStore, CFG), space);
    const pre = Pretrainer.create(cfg, { online, target, onlineStore: store, targetStore }, { space, seed: 1 });
    const [x0, view1, view2] = ['x0', 'v1', 'v2'].map((k) => normalTensor(rs.child(k), [BATCH, S, S, C]) as tf.Tensor4D);
    done.push(() => tf.dispose([x0, view1, view2]), () => pre.dispose(), () => targetStore.dispose());
    return make(() => void pre.step({ x0, view1, view2 }));
  }
  if (name === 'cm-step') {
    // @epg/consistency's EPG step (EPG_CM_CONFIG, EPG_CM_OPTIMIZER, auxiliary λ 1 τ 0.1 on the projector).
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
    done.push(() => x0.dispose(), () => optimizer.dispose(), () => frozen.store.dispose());
    let step = 0;
    return make(() => void consistencyTrainStep({ store, optimizer, denoiser, x0, space, rs: RandomStream.derive(0, step++, 'cm'), config: EPG_CM_CONFIG, auxiliary }));
  }
  if (name === 'denoise') {
    const net = buildFinetuneNetwork(store, CFG, { rng: rs.child('init') });
    store.eval();
    const denoiser = x0Denoiser(net, SPACE);
    const x = normalTensor(rs.child('x'), [DENOISE_BATCH, S, S, C]) as tf.Tensor4D;
    const sigma = Float64Array.from({ length: DENOISE_BATCH }, (_, i) => Math.exp(-3 + (6 * i) / (DENOISE_BATCH - 1)));
    done.push(() => x.dispose());
    return make(() => tf.tidy(() => void denoiser(x, sigma).dataSync()));
  }
  if (name === 'inception') {
    const netI = createInceptionExtractor(randomInceptionWeights(rs.child('inception')));
    const px = tf.tidy(() => tf.mul(tf.randomUniform([INCEPTION_BATCH, 32, 32, 3], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
    done.push(() => px.dispose(), () => netI.dispose());
    return make(() => tf.tidy(() => void netI.extract(px).dataSync()), { perCall: INCEPTION_BATCH, reps: Math.max(1, Math.floor(REPS / 2)), warmup: 1 });
  }
  store.dispose();
  throw new Error(`unknown workload '${name}'`);
}

export function ours(name: string): Times {
  const w = buildWorkload(name);
  try {
    const t = timed(w.run, w.reps, w.warmup);
    return { cpu: t.cpu / w.perCall, wall: t.wall / w.perCall };
  } finally {
    w.dispose();
  }
}

export interface TorchOut {
  torch: string;
  blas: string;
  threads: number;
  results: Record<string, Times>;
}

export function torchSide(threads: number, workloads: string[], profile = false): TorchOut | string {
  const py = process.env.EPG_TORCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const spec = {
    threads, workloads, profile, batch: BATCH, reps: REPS, denoiseBatch: DENOISE_BATCH, inceptionBatch: INCEPTION_BATCH, clipNorm: 0.5,
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

