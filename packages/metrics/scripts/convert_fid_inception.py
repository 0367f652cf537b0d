#!/usr/bin/env python3
"""Convert pytorch-fid's FID Inception weights to safetensors for @epg/metrics.

    python3 scripts/convert_fid_inception.py pt_inception-2015-12-05-6726825d.pth fid-inception.safetensors

The .pth is the file pytorch-fid downloads (github.com/mseitzer/pytorch-fid/releases, v0.1.0); get
it yourself: nothing in epg-ts downloads weights. Needs torch (to unpickle). Keeps every tensor of
the state dict under its own name as float32 (conv weights stay OIHW; the TS loader transposes).
num_batches_tracked entries are dropped. Written without the safetensors package.
"""
import json
import struct
import sys

import torch


def main(src, dst):
    state = torch.load(src, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        if name.endswith("num_batches_tracked"):
            continue
        t = state[name].detach().to(torch.float32).contiguous().numpy()
        b = t.tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"source": src.split("/")[-1], "format": "pytorch-fid FIDInceptionV3 state dict"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {len(blobs)} tensors to {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
