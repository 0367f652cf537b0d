#!/usr/bin/env python3
"""A training checkpoint as EPG's / rRCM's PyTorch scripts write it, for src/namemap-pth.test.ts.

Run from packages/vit after scripts/make_fixtures.py, with torch (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/make_torch_checkpoint.py

Reads src/__fixtures__/micro_torch.safetensors (the 'test-micro' state dict whose outputs
micro_ref.json holds) and writes src/__fixtures__/micro_epg_checkpoint.pth with torch.save:
    {"model": the state dict under DDP's "module." prefix, "ema": the same tensors without it
     (torch.save stores the shared storages once), "optimizer": an AdamW state_dict,
     "epoch": 3, "args": argparse.Namespace(...)}
"""
import argparse
import collections
import json
import os
import struct

import numpy as np
import torch

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "__fixtures__")


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b : 8 + n + e], dtype="<f4").reshape(info["shape"]).copy())
    return out


def main():
    sd = read_safetensors(os.path.join(FIX, "micro_torch.safetensors"))
    params = [torch.nn.Parameter(t.clone()) for t in list(sd.values())[:3]]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ck = {
        "model": collections.OrderedDict((f"module.{k}", v) for k, v in sd.items()),
        "ema": sd,
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "args": argparse.Namespace(model="dmvit_micro", ema_decay=0.9999, img_size=8),
    }
    path = os.path.join(FIX, "micro_epg_checkpoint.pth")
    torch.save(ck, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
