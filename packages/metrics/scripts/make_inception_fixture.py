#!/usr/bin/env python3
"""Reference pool3 features of the FID Inception-v3 graph, computed with PyTorch, for
src/inception.test.ts. Run from packages/metrics (needs torch):  python3 scripts/make_inception_fixture.py

The module below follows pytorch-fid's `fid_inception_v3` (torchvision Inception3 blocks with the
FIDInceptionA/C/E_1/E_2 patches: avg pools with count_include_pad=False, max pool in Mixed_7c),
written in torch's own conventions (NCHW, explicit paddings, BasicConv2d = conv without bias +
BatchNorm(eps=1e-3) + ReLU). Weights are not the real ones: every tensor is generated from the same
32-bit hash as src/__fixtures__/synthetic.ts (tensor k of the sorted state-dict names uses seed
1000 + k), so the TS test rebuilds them bit for bit and only the outputs are stored.
Writes src/__fixtures__/inception-fixture.json.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import hash_uniform  # noqa: E402

SPECS = []  # (name, in, out, (kh, kw), stride, (ph, pw))


def bc(name, i, o, k, stride=1, pad=None):
    k = (k, k) if isinstance(k, int) else k
    pad = ((k[0] - 1) // 2, (k[1] - 1) // 2) if pad is None else pad
    SPECS.append((name, i, o, k, stride, pad))


bc("Conv2d_1a_3x3", 3, 32, 3, 2, (0, 0)); bc("Conv2d_2a_3x3", 32, 32, 3, 1, (0, 0)); bc("Conv2d_2b_3x3", 32, 64, 3)
bc("Conv2d_3b_1x1", 64, 80, 1); bc("Conv2d_4a_3x3", 80, 192, 3, 1, (0, 0))
for p, i, pf in [("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)]:
    bc(f"{p}.branch1x1", i, 64, 1); bc(f"{p}.branch5x5_1", i, 48, 1); bc(f"{p}.branch5x5_2", 48, 64, 5)
    bc(f"{p}.branch3x3dbl_1", i, 64, 1); bc(f"{p}.branch3x3dbl_2", 64, 96, 3); bc(f"{p}.branch3x3dbl_3", 96, 96, 3)
    bc(f"{p}.branch_pool", i, pf, 1)
bc("Mixed_6a.branch3x3", 288, 384, 3, 2, (0, 0)); bc("Mixed_6a.branch3x3dbl_1", 288, 64, 1)
bc("Mixed_6a.branch3x3dbl_2", 64, 96, 3); bc("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 2, (0, 0))
for p, c7 in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)]:
    bc(f"{p}.branch1x1", 768, 192, 1)
    bc(f"{p}.branch7x7_1", 768, c7, 1); bc(f"{p}.branch7x7_2", c7, c7, (1, 7)); bc(f"{p}.branch7x7_3", c7, 192, (7, 1))
    bc(f"{p}.branch7x7dbl_1", 768, c7, 1); bc(f"{p}.branch7x7dbl_2", c7, c7, (7, 1)); bc(f"{p}.branch7x7dbl_3", c7, c7, (1, 7))
    bc(f"{p}.branch7x7dbl_4", c7, c7, (7, 1)); bc(f"{p}.branch7x7dbl_5", c7, 192, (1, 7))
    bc(f"{p}.branch_pool", 768, 192, 1)
bc("Mixed_7a.branch3x3_1", 768, 192, 1); bc("Mixed_7a.branch3x3_2", 192, 320, 3, 2, (0, 0))
bc("Mixed_7a.branch7x7x3_1", 768, 192, 1); bc("Mixed_7a.branch7x7x3_2", 192, 192, (1, 7))
bc("Mixed_7a.branch7x7x3_3", 192, 192, (7, 1)); bc("Mixed_7a.branch7x7x3_4", 192, 192, 3, 2, (0, 0))
for p, i in [("Mixed_7b", 1280), ("Mixed_7c", 2048)]:
    bc(f"{p}.branch1x1", i, 320, 1); bc(f"{p}.branch3x3_1", i, 384, 1)
    bc(f"{p}.branch3x3_2a", 384, 384, (1, 3)); bc(f"{p}.branch3x3_2b", 384, 384, (3, 1))
    bc(f"{p}.branch3x3dbl_1", i, 448, 1); bc(f"{p}.branch3x3dbl_2", 448, 384, 3)
    bc(f"{p}.branch3x3dbl_3a", 384, 384, (1, 3)); bc(f"{p}.branch3x3dbl_3b", 384, 384, (3, 1))
    bc(f"{p}.branch_pool", i, 192, 1)


def state_dict_shapes():
    shapes = {}
    for name, i, o, k, _, _ in SPECS:
        shapes[f"{name}.conv.weight"] = (o, i, k[0], k[1])
        for s in ["weight", "bias", "running_mean", "running_var"]:
            shapes[f"{name}.bn.{s}"] = (o,)
    shapes["fc.weight"] = (1008, 2048)
    shapes["fc.bias"] = (1008,)
    return shapes


def hash_weights():
    """Tensor k (sorted names) from seed 1000 + k; see src/__fixtures__/synthetic.ts hashInceptionWeights."""
    out = {}
    for k, name in enumerate(sorted(state_dict_shapes())):
        shape = state_dict_shapes()[name]
        n = int(np.prod(shape))
        u = hash_uniform(1000 + k, 1, n).reshape(shape)
        if name.endswith("conv.weight") or name == "fc.weight":
            fan_in = int(np.prod(shape[1:]))
            w = (u - 0.5) * np.sqrt(12.0) * np.sqrt(2.0 / fan_in)
        elif name.endswith("bn.weight") or name.endswith("running_var"):
            w = 0.5 + u
        else:  # bn.bias, running_mean, fc.bias
            w = 0.1 * (u - 0.5)
        out[name] = torch.from_numpy(w.astype(np.float32))
    return out


def forward(w, x):
    spec = {s[0]: s for s in SPECS}

    def conv(name, t):
        _, _, _, _, stride, pad = spec[name]
        t = F.conv2d(t, w[f"{name}.conv.weight"], stride=stride, padding=pad)
        t = F.batch_norm(t, w[f"{name}.bn.running_mean"], w[f"{name}.bn.running_var"], w[f"{name}.bn.weight"], w[f"{name}.bn.bias"], False, 0.0, 0.001)
        return F.relu(t)

    def chain(t, names):
        for n in names:
            t = conv(n, t)
        return t

    avg = lambda t: F.avg_pool2d(t, 3, 1, 1, count_include_pad=False)
    x = chain(x, ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"]); x = F.max_pool2d(x, 3, 2)
    x = chain(x, ["Conv2d_3b_1x1", "Conv2d_4a_3x3"]); x = F.max_pool2d(x, 3, 2)
    for p in ["Mixed_5b", "Mixed_5c", "Mixed_5d"]:
        x = torch.cat([conv(f"{p}.branch1x1", x), chain(x, [f"{p}.branch5x5_1", f"{p}.branch5x5_2"]),
                       chain(x, [f"{p}.branch3x3dbl_1", f"{p}.branch3x3dbl_2", f"{p}.branch3x3dbl_3"]),
                       conv(f"{p}.branch_pool", avg(x))], 1)
    p = "Mixed_6a"
    x = torch.cat([conv(f"{p}.branch3x3", x), chain(x, [f"{p}.branch3x3dbl_1", f"{p}.branch3x3dbl_2", f"{p}.branch3x3dbl_3"]),
                   F.max_pool2d(x, 3, 2)], 1)
    for p in ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"]:
        x = torch.cat([conv(f"{p}.branch1x1", x), chain(x, [f"{p}.branch7x7_1", f"{p}.branch7x7_2", f"{p}.branch7x7_3"]),
                       chain(x, [f"{p}.branch7x7dbl_{j}" for j in range(1, 6)]), conv(f"{p}.branch_pool", avg(x))], 1)
    p = "Mixed_7a"
    x = torch.cat([chain(x, [f"{p}.branch3x3_1", f"{p}.branch3x3_2"]), chain(x, [f"{p}.branch7x7x3_{j}" for j in range(1, 5)]),
                   F.max_pool2d(x, 3, 2)], 1)
    for p, pool in [("Mixed_7b", avg), ("Mixed_7c", lambda t: F.max_pool2d(t, 3, 1, 1))]:
        b3 = conv(f"{p}.branch3x3_1", x)
        d3 = chain(x, [f"{p}.branch3x3dbl_1", f"{p}.branch3x3dbl_2"])
        x = torch.cat([conv(f"{p}.branch1x1", x), conv(f"{p}.branch3x3_2a", b3), conv(f"{p}.branch3x3_2b", b3),
                       conv(f"{p}.branch3x3dbl_3a", d3), conv(f"{p}.branch3x3dbl_3b", d3), conv(f"{p}.branch_pool", pool(x))], 1)
    return x.mean(dim=(2, 3))


def main():
    torch.set_num_threads(1)
    w = hash_weights()
    img = (hash_uniform(4242, 1, 299 * 299 * 3).reshape(1, 299, 299, 3) * 255.0).astype(np.float32)  # NHWC in [0, 255)
    x = (torch.from_numpy(img).permute(0, 3, 1, 2) - 128.0) / 128.0
    with torch.no_grad():
        pool3 = forward(w, x)[0]
        logits = pool3 @ w["fc.weight"].T
    # the same network on a 75×75 image (its smallest input): the fast check in `pnpm test`
    img75 = (hash_uniform(4243, 1, 75 * 75 * 3).reshape(1, 75, 75, 3) * 255.0).astype(np.float32)
    with torch.no_grad():
        pool3_75 = forward(w, (torch.from_numpy(img75).permute(0, 3, 1, 2) - 128.0) / 128.0)[0]
    out = {"torch": torch.__version__, "imageSeed": 4242, "image75Seed": 4243, "weightSeedBase": 1000,
           "pool3": [float(v) for v in pool3], "logitsFirst16": [float(v) for v in logits[:16]],
           "pool3At75": [float(v) for v in pool3_75]}
    with open("src/__fixtures__/inception-fixture.json", "w") as f:
        json.dump(out, f)
    print("pool3 mean", float(pool3.mean()), "max", float(pool3.max()))


if __name__ == "__main__":
    main()
