#!/usr/bin/env python3
"""FID Inception weights written by torch.save, with pytorch-fid's layer names and shapes, for the
tests of loadInceptionWeights on .pth files. Needs torch (Debian: apt-get install python3-torch).
Run from packages/metrics.

    /usr/bin/python3 scripts/make_inception_pth.py compact
        Writes src/__fixtures__/inception-strided.pth (about 150 KB) and inception-strided.json.
        Every one of the 472 tensors has its real name and shape but is a strided view of a few small
        shared storages (torch.as_strided / expand), so the file stays small while the loader must
        follow offsets, strides (stride 0 included) and shared storages for the whole network.
        The JSON holds, per tensor, the SHA-256 of torch's own contiguous float32 bytes, and the
        pool3 features torch computes for the 75x75 hash image (seed 4243) with these weights
        (forward() of make_inception_fixture.py, pytorch-fid's graph in torch conventions).

    /usr/bin/python3 scripts/make_inception_pth.py full OUTDIR
        Writes OUTDIR/random-inception.pth (about 95 MB: the hash weights of make_inception_fixture.py
        as a dense state_dict, pre-1.6 stream format like pytorch-fid's own file), OUTDIR/random-
        inception-zip.pth (the same, zip format) and OUTDIR/random-inception.safetensors made from the
        .pth by scripts/convert_fid_inception.py. Used by src/inception-pth.slow.test.ts; too big to commit.
"""
import collections
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import hash_uniform  # noqa: E402
from make_inception_fixture import forward, hash_weights, state_dict_shapes  # noqa: E402

FIX = os.path.join(HERE, "..", "src", "__fixtures__")


def strided_state_dict():
    g = torch.Generator().manual_seed(2015)
    normal = torch.randn(16384, generator=g)  # conv and fc weights: w[o, i, y, x] = normal[off + 7o + 3i + 2y + x]
    positive = 0.5 + torch.rand(4096, generator=g)  # bn.weight
    small = 0.1 * (torch.rand(4096, generator=g) - 0.5)  # bn.bias, running_mean, fc.bias
    sd = collections.OrderedDict()
    for k, (name, shape) in enumerate(sorted(state_dict_shapes().items())):
        off = (37 * k) % 97
        if len(shape) == 4:
            t = torch.as_strided(normal, shape, (7, 3, 2, 1), off)
        elif name == "fc.weight":
            t = torch.as_strided(normal, shape, (3, 1), off)
        elif name.endswith("running_var"):
            # the BatchNorm variance absorbs the fan-in, keeping activations of order 1 through 94 layers
            conv = state_dict_shapes()[name.replace("bn.running_var", "conv.weight")]
            fan_in = conv[1] * conv[2] * conv[3]
            t = torch.full((1,), float(fan_in)).expand(shape)  # stride 0 over a 1-element storage
        elif name.endswith("bn.weight"):
            t = torch.as_strided(positive, shape, (1,), off)
        else:
            t = torch.as_strided(small, shape, (1,), off)
        sd[name] = t
    return sd


def compact():
    sd = strided_state_dict()
    path = os.path.join(FIX, "inception-strided.pth")
    torch.save(sd, path)
    img75 = (hash_uniform(4243, 1, 75 * 75 * 3).reshape(1, 75, 75, 3) * 255.0).astype(np.float32)
    with torch.no_grad():
        pool3 = forward({k: v.contiguous() for k, v in sd.items()}, (torch.from_numpy(img75).permute(0, 3, 1, 2) - 128.0) / 128.0)[0]
    out = {
        "torch": torch.__version__,
        "image75Seed": 4243,
        "sha256": {k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in sd.items()},
        "pool3At75": [float(v) for v in pool3],
    }
    with open(os.path.join(FIX, "inception-strided.json"), "w") as f:
        json.dump(out, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes); pool3 mean {float(pool3.mean()):.4g} max {float(pool3.max()):.4g}")


def full(outdir):
    os.makedirs(outdir, exist_ok=True)
    sd = collections.OrderedDict(sorted(hash_weights().items()))
    legacy = os.path.join(outdir, "random-inception.pth")
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(outdir, "random-inception-zip.pth"))
    subprocess.run([sys.executable, os.path.join(HERE, "convert_fid_inception.py"), legacy, os.path.join(outdir, "random-inception.safetensors")], check=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "compact":
        compact()
    elif len(sys.argv) == 3 and sys.argv[1] == "full":
        full(sys.argv[2])
    else:
        sys.exit(__doc__)
