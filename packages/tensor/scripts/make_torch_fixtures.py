#!/usr/bin/env python3
"""Fixtures for src/torch/*.test.ts: files written by torch.save itself, and what they must read back as.

Run from packages/tensor with a Python that has torch (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/make_torch_fixtures.py

Writes, under src/__fixtures__/torch/:
  dtypes.pth         an OrderedDict state_dict: one tensor of every supported dtype (float32, float64,
                     float16, bfloat16, int64, int32, uint8, bool), a transposed (non-contiguous) view,
                     a strided slice with a storage offset, an expanded (stride 0) view, two tensors
                     sharing one storage, a 0-d tensor and an empty tensor;
  nested.pth         a training checkpoint in the layout of EPG's / MAE-style scripts:
                     {"model": state_dict, "ema": state_dict, "optimizer": AdamW state_dict,
                      "epoch": int, "args": argparse.Namespace, "scaler": {...},
                      "head": an nn.Module's own state_dict (carries _metadata, num_batches_tracked)}, with "ema" sharing
                     storages with "model" where the values are equal (as torch.save stores them once);
  nested-proto4.pth  the same object saved with pickle_protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE);
  dtypes-legacy.pth  dtypes.pth's state_dict in the pre-1.6 stream format (_use_new_zipfile_serialization=False),
                     the format of files written before PyTorch 1.6 such as pytorch-fid's Inception weights;
  expected.json      for every tensor: dtype, shape, and the hex of torch's own contiguous bytes
                     (`t.contiguous()` viewed as bytes), so the reader is checked bit for bit; for
                     floating tensors also the bytes of torch's `t.to(float32)`, for integer ones the
                     values as decimal strings;
                     plus the non-tensor values of nested.pth.
  hostile/*.pth      malformed and hostile files, each meant to hit its own error:
                     truncated.pth (dtypes.pth cut in half), unknown-global.pth (a class of this
                     script), os-system.pth (a __reduce__ returning os.system: nothing may run),
                     short-storage.pth (a storage rewritten shorter than its tensor needs),
                     legacy-truncated.pth (dtypes-legacy.pth without its last 10 bytes).
Deterministic: every value comes from torch.manual_seed(seed) / arange.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "__fixtures__", "torch")


def raw_hex(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.numpy().tobytes().hex()


def describe(t):
    d = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "hex": raw_hex(t)}
    if t.is_floating_point():
        d["float32_hex"] = t.to(torch.float32).contiguous().numpy().tobytes().hex()  # torch's own widening
    else:
        d["values"] = [str(v) for v in t.reshape(-1).tolist()]
    return d


def dtypes_state_dict():
    g = torch.Generator().manual_seed(18)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(2, 3, generator=g)
    sd["f64"] = torch.randn(3, generator=g, dtype=torch.float64)
    # float16 with a subnormal, an infinity and a NaN bit pattern among ordinary values
    sd["f16"] = torch.tensor([1.0, -2.5, 6.1e-5, 3.0e-7, 65504.0, float("inf"), float("nan"), -0.0], dtype=torch.float16)
    sd["bf16"] = (torch.randn(4, generator=g) * 1e3).to(torch.bfloat16)
    sd["i64"] = torch.tensor([0, -1, 2**40 + 3, -(2**53), 2**53 - 1], dtype=torch.int64)
    sd["i32"] = torch.tensor([[-(2**31), 7], [2**31 - 1, 0]], dtype=torch.int32)
    sd["u8"] = torch.arange(250, 256, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) + 0.5
    sd["transposed"] = base.t()  # [6, 4], strides (1, 6)
    sd["sliced"] = base[1:, ::2]  # offset 6, strides (6, 2)
    sd["expanded"] = torch.randn(3, 1, generator=g).expand(3, 5)  # stride 0 on dim 1
    shared = torch.randn(10, generator=g)
    sd["shared_a"] = shared[:6].view(2, 3)
    sd["shared_b"] = shared[4:]  # overlaps shared_a, same storage
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    return sd


def nested_checkpoint():
    g = torch.Generator().manual_seed(1806)
    model = collections.OrderedDict()
    model["module.blocks.0.attn.qkv.weight"] = torch.randn(6, 2, generator=g)
    model["module.blocks.0.attn.qkv.bias"] = torch.randn(6, generator=g)
    model["module.norm.weight"] = torch.ones(2)
    model["module.pos_embed"] = torch.randn(1, 3, 2, generator=g)
    ema = collections.OrderedDict()
    ema["blocks.0.attn.qkv.weight"] = model["module.blocks.0.attn.qkv.weight"] * 0.5
    ema["blocks.0.attn.qkv.bias"] = model["module.blocks.0.attn.qkv.bias"]  # same storage as in model
    ema["norm.weight"] = model["module.norm.weight"]
    ema["pos_embed"] = model["module.pos_embed"].clone()
    params = [torch.nn.Parameter(t.clone()) for t in model.values()]
    opt = torch.optim.AdamW(params, lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    args = argparse.Namespace(model="dmvit_micro", batch_size=64, lr=None, blr=1.5e-4, epochs=800, resume="", dist=False, img_size=(32, 32))
    torch.manual_seed(7)
    head = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    head(torch.randn(4, 2, generator=g))  # updates the BatchNorm buffers
    return {
        "model": model,
        "head": head.state_dict(),  # a real nn.Module state_dict: OrderedDict with _metadata (BUILD)
        "ema": ema,
        "optimizer": opt.state_dict(),
        "epoch": 41,
        "args": args,
        "scaler": {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 12},
    }


class NotAllowed:
    def __init__(self):
        self.x = 1


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/epg-pwned",))


def tensor_entries(prefix, obj, out):
    if isinstance(obj, torch.Tensor):
        out[prefix] = describe(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            tensor_entries(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            tensor_entries(f"{prefix}.{i}", v, out)


def save(obj, name, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    return path


def shorten_storage(src, dst):
    """Rewrites one data/N entry 8 bytes shorter (a valid zip whose storage is too short)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("/data/0"):
                data = data[:-8]
            zout.writestr(info.filename, data)


def main():
    os.makedirs(os.path.join(OUT, "hostile"), exist_ok=True)
    sd = dtypes_state_dict()
    dtypes_path = save(sd, "dtypes.pth")
    ck = nested_checkpoint()
    save(ck, "nested.pth")
    save(ck, "nested-proto4.pth", pickle_protocol=4)
    expected = {"torch": torch.__version__, "dtypes": {}, "nested": {}}
    tensor_entries("", sd, expected["dtypes"])
    tensor_entries("", ck, expected["nested"])
    expected["strides"] = {k: list(v.stride()) for k, v in sd.items()}
    expected["storage_offsets"] = {k: v.storage_offset() for k, v in sd.items()}
    expected["nested_values"] = {
        "epoch": ck["epoch"],
        "args": vars(ck["args"]),
        "scaler": ck["scaler"],
        "param_groups": [{k: v for k, v in pg.items()} for pg in ck["optimizer"]["param_groups"]],
        "optimizer_state_keys": sorted(ck["optimizer"]["state"].keys()),
    }

    h = os.path.join(OUT, "hostile")
    data = open(dtypes_path, "rb").read()
    open(os.path.join(h, "truncated.pth"), "wb").write(data[: len(data) // 2])
    torch.save({"w": torch.ones(2), "obj": NotAllowed()}, os.path.join(h, "unknown-global.pth"))
    torch.save({"w": torch.ones(2), "payload": RunsCode()}, os.path.join(h, "os-system.pth"))
    shorten_storage(dtypes_path, os.path.join(h, "short-storage.pth"))
    legacy = save(sd, "dtypes-legacy.pth", _use_new_zipfile_serialization=False)
    data = open(legacy, "rb").read()
    open(os.path.join(h, "legacy-truncated.pth"), "wb").write(data[:-10])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    for name in sorted(os.listdir(OUT)) + ["hostile/" + n for n in sorted(os.listdir(h))]:
        p = os.path.join(OUT, name)
        if os.path.isfile(p):
            print(f"{os.path.getsize(p):8d}  {name}  sha256 {hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
