#!/usr/bin/env python3
"""Fixtures for @epg/tensor tests, computed independently in float64 numpy.

adamw.json: 20 AdamW steps (PyTorch torch.optim.AdamW semantics, decoupled weight decay) on two
parameter groups with given per-step gradients and a warm-up-cosine learning rate.
tiny.safetensors: a file laid out by hand from the safetensors spec, to check our decoder.

Run: python3 packages/tensor/scripts/make_fixtures.py
"""
import json, math, os, struct
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, '..', 'src', '__fixtures__')
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261129)

def lr_factor(k, warmup=5, total=20):
    if k <= warmup:
        return k / warmup
    if k > total:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (k - warmup) / (total - warmup)))

steps = 20
base_lr = 0.05
beta1, beta2, eps = 0.9, 0.95, 1e-8
params = {
    # group "decay": default group, weight decay 0.1
    'layer.weight': rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4)),
    'layer.bias': rng.uniform(0.5, 1.5, (4,)) * rng.choice([-1, 1], (4,)),
    # group "head": lr multiplier 0.5, weight decay 0.02
    'head.weight': rng.uniform(0.5, 1.5, (4, 2)) * rng.choice([-1, 1], (4, 2)),
}
groups = {
    'layer.weight': dict(lr_mult=1.0, wd=0.1),   # default group, decay on (rank 2)
    'layer.bias': dict(lr_mult=1.0, wd=0.0),     # default group, decay off (rank 1)
    'head.weight': dict(lr_mult=0.5, wd=0.02),   # explicit group
}
initial = {k: v.copy() for k, v in params.items()}
grads = [{k: rng.normal(0, 1, v.shape) * (0.1 if k == 'layer.bias' else 1.0) for k, v in params.items()} for _ in range(steps)]
m = {k: np.zeros_like(v) for k, v in params.items()}
v2 = {k: np.zeros_like(v) for k, v in params.items()}
trajectory = []
for t in range(steps):
    lr = base_lr * lr_factor(t)
    step = t + 1
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    for k in params:
        g = grads[t][k]
        lr_g = lr * groups[k]['lr_mult']
        params[k] = params[k] * (1 - lr_g * groups[k]['wd'])
        m[k] = beta1 * m[k] + (1 - beta1) * g
        v2[k] = beta2 * v2[k] + (1 - beta2) * g * g
        denom = np.sqrt(v2[k]) / math.sqrt(bc2) + eps
        params[k] = params[k] - (lr_g / bc1) * m[k] / denom
    trajectory.append({k: params[k].ravel().tolist() for k in params})

fixture = {
    'lrs': [base_lr * lr_factor(t) for t in range(steps)], 'beta1': beta1, 'beta2': beta2, 'eps': eps,
    'warmupSteps': 5, 'totalSteps': 20, 'defaultWeightDecay': 0.1,
    'headGroup': {'lrMultiplier': 0.5, 'weightDecay': 0.02},
    'shapes': {k: list(v.shape) for k, v in initial.items()},
    'initial': {k: v.ravel().tolist() for k, v in initial.items()},
    'grads': [{k: g.ravel().tolist() for k, g in step.items()} for step in grads],
    'trajectory': trajectory,
    'finalM': {k: m[k].ravel().tolist() for k in m},
    'finalV': {k: v2[k].ravel().tolist() for k in v2},
}
with open(os.path.join(out_dir, 'adamw.json'), 'w') as f:
    json.dump(fixture, f)

# A safetensors file written by hand from the spec (independent of our encoder), with the dtypes a
# PyTorch export carries: F32, I32, I64 (BatchNorm's num_batches_tracked), F16 and BF16.
a = (np.arange(6, dtype='<f4').reshape(2, 3) / 7).astype('<f4')
b = np.array([1, -2, 3], dtype='<i4')
c = np.array([7, -(2**40)], dtype='<i8')
h = np.array([1.0, -2.5, 65504.0, 6.1e-5, 1e-7, np.inf], dtype='<f2')  # normal, max, subnormal, inf
bf_src = np.array([1.0, -3.140625, 2.0**-130], dtype='<f4')
bf = (bf_src.view('<u4') >> 16).astype('<u2')  # truncation is exact for these values
blobs = [('alpha', 'F32', [2, 3], a.tobytes()), ('beta', 'I32', [3], b.tobytes()), ('count', 'I64', [2], c.tobytes()),
         ('half', 'F16', [6], h.tobytes()), ('brain', 'BF16', [3], bf.tobytes())]
header = {'__metadata__': {'format': 'pt'}}
off = 0
for name, dt, shape, raw in blobs:
    header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(raw)]}
    off += len(raw)
hb = json.dumps(header).encode()
with open(os.path.join(out_dir, 'tiny.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(hb)) + hb + b''.join(raw for *_, raw in blobs))
with open(os.path.join(out_dir, 'tiny.expected.json'), 'w') as f:
    json.dump({'alpha': a.astype(np.float64).ravel().tolist(), 'beta': b.tolist(), 'count': [str(v) for v in c.tolist()],
               'half': [float(v) if np.isfinite(v) else 'inf' for v in h.astype(np.float64)],
               'brain': bf_src.astype(np.float64).tolist()}, f)
print('wrote', out_dir)
