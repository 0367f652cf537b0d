/**
 * A small convolutional classifier for 28×28 grey images (MNIST, Fashion-MNIST): the "domain"
 * feature extractor for Fréchet distances on these datasets (docs/metrics-reference.md §4, TTUR#24: Inception
 * features are not meaningful there). LeNet-style, after Bińkowski et al.'s MMD-GAN `lenet` scorer:
 *
 *   x ∈ [−1, 1], 28×28×1
 *   conv 3×3, 32 → max-pool 2 → BatchNorm, ReLU → 14×14×32
 *   conv 3×3, 64 → max-pool 2 → BatchNorm, ReLU → 7×7×64
 *   conv 3×3, 128 → BatchNorm, ReLU → 7×7×128
 *   dense 6272 → 128  (the feature: pre-activation, so dead ReLUs cannot make Σ singular)
 *   ReLU → dense 128 → 10 (logits)
 *
 * BatchNorm (batch statistics in training, running averages in eval; ε = 1e−3, momentum 0.9)
 * is what lets two epochs reach 99 % on MNIST. Convolutions carry a custom gradient made of forward convolutions only (the wasm backend has no
 * Conv2DBackpropFilter, docs/toolchain.md §12), and dense layers a matMul whose gradient transposes
 * explicitly (wasm's matMul with transposeA/B runs ≈ 10× slower than the plain one, §7).
 */
import * as tf from '@tensorflow/tfjs-core';
import { EpgError, ParameterStore, RandomStream, fusedBatchNorm, fusedLinear, nativeKernelsActive, stopGradient, truncatedNormalTensor } from '@epg/tensor';

export const DOMAIN_INPUT_SIZE = 28;
export const DOMAIN_FEATURE_DIM = 128;
export const DOMAIN_NUM_CLASSES = 10;

/** Parameter names and shapes (HWIO convolution kernels, [in, out] dense kernels). */
export const DOMAIN_PARAM_SHAPES: Readonly<Record<string, readonly number[]>> = {
  'conv1.kernel': [3, 3, 1, 32],
  'bn1.gamma': [32],
  'bn1.beta': [32],
  'conv2.kernel': [3, 3, 32, 64],
  'bn2.gamma': [64],
  'bn2.beta': [64],
  'conv3.kernel': [3, 3, 64, 128],
  'bn3.gamma': [128],
  'bn3.beta': [128],
  'fc1.kernel': [7 * 7 * 128, DOMAIN_FEATURE_DIM],
  'fc1.bias': [DOMAIN_FEATURE_DIM],
  'fc2.kernel': [DOMAIN_FEATURE_DIM, DOMAIN_NUM_CLASSES],
  'fc2.bias': [DOMAIN_NUM_CLASSES],
};

/** matMul whose gradient transposes explicitly, so every product takes the fast no-transpose path. */
const matMulPlain = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0]) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * x · w + b. With native cpu kernels: one GEMM with the bias folded in (@epg/tensor's fusedLinear),
 * whose gradient GEMMs take transposed operands directly; elsewhere matMulPlain (explicit transposes).
 */
function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (nativeKernelsActive()) return fusedLinear(x, w, b) as tf.Tensor2D;
  return tf.add(matMulPlain(x, w as tf.Tensor2D), b) as tf.Tensor2D;
}

/**
 * Kernel gradient of a stride-1 'same' convolution, as one forward convolution with batch and
 * channels swapped: dW[i,j,c,o] = Σ_{b,y,x} xpad[b, y+i, x+j, c] · dy[b, y, x, o]
 * = conv2d(xpadᵀ [C, H+2p, W+2p, B], dyᵀ [H, W, B, O], 'valid') transposed to HWIO.
 */
function conv2dKernelGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const xp = tf.pad(x, [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]);
  const a = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  return tf.transpose(tf.conv2d(a, f, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * Stride-1 'same' convolution (odd square HWIO kernel) whose gradient uses only forward
 * convolutions: the wasm backend lacks Conv2DBackpropFilter and its Conv2DBackpropInput is ≈ 7×
 * slower than a forward conv with the rotated kernel. `inputGrad: false` skips dX (first layer).
 */
function makeConvSame(inputGrad: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, kernel, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([x, kernel]);
    return {
      value: tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ks] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = inputGrad
          ? tf.conv2d(dy as tf.Tensor4D, tf.transpose(tf.reverse(ks, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same')
          : tf.zerosLike(xs);
        return [dx, conv2dKernelGrad(xs, dy as tf.Tensor4D, ks.shape[0])];
      },
    };
  }) as (x: tf.Tensor4D, kernel: tf.Tensor4D) => tf.Tensor4D;
}
const convWithInputGrad = makeConvSame(true);
const convWithoutInputGrad = makeConvSame(false);

/**
 * Stride-1 'same' convolution, differentiable on cpu and wasm (HWIO kernel). With the native cpu
 * kernels (@epg/tensor-native) tfjs's own gradient runs: its Conv2DBackpropInput/Filter are native
 * GEMMs there, faster than the transposes the forward-only gradient needs.
 */
export function convSame(x: tf.Tensor4D, kernel: tf.Tensor, inputGrad = true): tf.Tensor4D {
  if (nativeKernelsActive()) return inputGrad ? tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same') : convNoInputGrad(x, kernel as tf.Tensor4D);
  return (inputGrad ? convWithInputGrad : convWithoutInputGrad)(x, kernel as tf.Tensor4D);
}

/** tfjs's conv2d with its filter gradient only (the first layer needs no input gradient). */
const convNoInputGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.conv2d(x, kernel, 1, 'same'),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.zerosLike(saved[0]),
      tf.engine().runKernel('Conv2DBackpropFilter', { x: saved[0], dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: kernel.shape }) as tf.Tensor,
    ],
  };
}) as (x: tf.Tensor4D, kernel: tf.Tensor4D) => tf.Tensor4D;

/**
 * 2×2 stride-2 max-pool. Off the native kernels it has a mask gradient (dy routed to the window's
 * maximum; ties share it): the wasm backend's MaxPoolGrad is ≈ 10× slower than these few
 * elementwise ops. tfjs's MaxPoolGrad (native path) gives a tie to the first maximum only.
 */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  // Native cpu kernels have a one-pass MaxPoolGrad (the mask below would cost more there).
  return nativeKernelsActive() ? tf.maxPool(x, 2, 2, 'valid') : maxPool2Mask(x);
}

const maxPool2Mask = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const y = tf.maxPool(x, 2, 2, 'valid');
  save([x, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ys] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [b, h, w, c] = xs.shape;
      const up = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [b, h / 2, 1, w / 2, 1, c]), [1, 1, 2, 1, 2, 1]), [b, h, w, c]);
      return [tf.mul(up(dy), tf.cast(tf.equal(xs, up(ys)), 'float32'))];
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/** Fresh parameters (He-style truncated normal kernels, zero biases) in a new store. */
export function initDomainClassifier(rs: RandomStream): ParameterStore {
  const store = ParameterStore.create();
  for (const [name, shape] of Object.entries(DOMAIN_PARAM_SHAPES)) {
    if (name.endsWith('.bias') || name.endsWith('.beta')) {
      store.add(name, tf.zeros([...shape]), { weightDecay: false });
    } else if (name.endsWith('.gamma')) {
      store.add(name, tf.ones([...shape]), { weightDecay: false });
    } else {
      const fanIn = shape.slice(0, -1).reduce((p, q) => p * q, 1);
      store.add(name, truncatedNormalTensor(rs.child(name), [...shape], Math.sqrt(2 / fanIn)));
    }
  }
  for (const [bn, c] of [['bn1', 32], ['bn2', 64], ['bn3', 128]] as const) {
    store.addBuffer(`${bn}.mean`, tf.zeros([c]));
    store.addBuffer(`${bn}.var`, tf.ones([c]));
  }
  return store;
}

/** Names of the BatchNorm running statistics (buffers, saved with the weights). */
export const DOMAIN_BUFFER_SHAPES: Readonly<Record<string, readonly number[]>> = {
  'bn1.mean': [32],
  'bn1.var': [32],
  'bn2.mean': [64],
  'bn2.var': [64],
  'bn3.mean': [128],
  'bn3.var': [128],
};

const BN_EPS = 1e-3;
const BN_MOMENTUM = 0.9;

/**
 * BatchNorm over N, H, W (Ioffe & Szegedy 2015), then ReLU: one fused op (@epg/tensor's
 * fusedBatchNorm: a native pass forward and backward on the cpu backend with native kernels, the
 * tfjs composition elsewhere). In training mode it uses the batch's moments and moves the running
 * averages (a side effect on the store's buffers); in eval mode it normalises by those.
 */
function batchNormRelu(store: ParameterStore, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const runMean = store.get(`${name}.mean`);
  const runVar = store.get(`${name}.var`);
  const gamma = store.get(`${name}.gamma`);
  const beta = store.get(`${name}.beta`);
  if (!store.training) return fusedBatchNorm(x, gamma, beta, { eps: BN_EPS, relu: true, mean: runMean, variance: runVar }).y as tf.Tensor4D;
  const { y, mean, variance } = fusedBatchNorm(x, gamma, beta, { eps: BN_EPS, relu: true });
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  runMean.assign(tf.add(tf.mul(runMean, BN_MOMENTUM), tf.mul(stopGradient(mean!), 1 - BN_MOMENTUM)));
  runVar.assign(tf.add(tf.mul(runVar, BN_MOMENTUM), tf.mul(stopGradient(variance!), ((1 - BN_MOMENTUM) * n) / (n - 1))));
  return y as tf.Tensor4D;
}

// a type alias (not an interface) so it is a tf.TensorContainer and can be returned from tf.tidy
export type DomainOutputs = {
  /** [B, 128] pre-activation of the penultimate layer. */
  readonly features: tf.Tensor2D;
  /** [B, 10] class logits. */
  readonly logits: tf.Tensor2D;
};

/**
 * Forward pass on x ∈ [−1, 1] of shape [B, 28, 28, 1]. Returns new tensors the caller owns;
 * intermediates are freed when called inside tf.tidy (as training and `extract` do). Uses batch
 * statistics and updates the running ones when `store.training`; call `store.eval()` for features.
 */
export function domainClassifierForward(store: ParameterStore, x: tf.Tensor4D): DomainOutputs {
  const [, h, w, c] = x.shape;
  if (h !== DOMAIN_INPUT_SIZE || w !== DOMAIN_INPUT_SIZE || c !== 1) {
    throw new EpgError('shape', `domain classifier: expected [B, 28, 28, 1] input, got [${x.shape}]`);
  }
  const p = (n: string) => store.get(n);
  // pooling before BatchNorm and ReLU so those run on a quarter of the values
  let y = batchNormRelu(store, 'bn1', maxPool2(convSame(x, p('conv1.kernel'), false))); // [B, 14, 14, 32]
  y = batchNormRelu(store, 'bn2', maxPool2(convSame(y, p('conv2.kernel')))); // [B, 7, 7, 64]
  y = batchNormRelu(store, 'bn3', convSame(y, p('conv3.kernel'))); // [B, 7, 7, 128]
  const flat = tf.reshape(y, [x.shape[0], 7 * 7 * 128]) as tf.Tensor2D;
  const features = dense(flat, p('fc1.kernel'), p('fc1.bias')); // [B, 128]
  const logits = dense(tf.relu(features), p('fc2.kernel'), p('fc2.bias')); // [B, 10]
  return { features, logits };
}

/** Maps uint8 pixels [B, 28, 28, 1] (as float32 in [0, 255]) to the network's [−1, 1] input. */
export function domainPreprocess(pixels: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(pixels, 127.5), 1) as tf.Tensor4D);
}
