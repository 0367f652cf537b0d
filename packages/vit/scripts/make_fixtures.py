#!/usr/bin/env python3
"""Numerics fixtures for @epg/vit, computed in float64 with numpy/scipy (independent of tfjs).

Writes, under src/__fixtures__/:
  layers.json            LayerNorm, exact GELU, attention, BatchNorm1d (train + eval), one pre-LN
                         encoder block and the sinusoidal time embedding, weights in this package's
                         (in, out) layout;
  micro_torch.safetensors  a PyTorch-style state dict (names and layouts of EPG's DMViT + rRCM's
                         projection head: Linear (out, in), Conv2d (D, C, p, p)) for the
                         'test-micro' preset, float32;
  micro_ref.json         inputs and float64 outputs of the DMViT forward and of the pre-training
                         forward (eval-mode BatchNorm) for that state dict, computed here in PyTorch's
                         NCHW layout from the reference code paths [EPG:rcm/vit.py, rRCM:rrcm/vit.py].
Run: python3 scripts/make_fixtures.py   (deterministic: numpy default_rng(seed)).
"""
import json
import math
import os
import struct

import numpy as np
from scipy.special import erf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'src', '__fixtures__')
EPS = 1e-5


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + EPS) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def attention_torch(x, qkv_w, proj_w, proj_b, heads):
    """EPG Attention (math mode) with torch-layout weights (out, in)."""
    B, L, C = x.shape
    qkv = x @ qkv_w.T  # B L 3C
    qkv = qkv.reshape(B, L, 3, heads, C // heads).transpose(2, 0, 3, 1, 4)  # K B H L D
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = (q @ k.transpose(0, 1, 3, 2)) * (C // heads) ** -0.5
    a = np.exp(a - a.max(-1, keepdims=True))
    a = a / a.sum(-1, keepdims=True)
    o = (a @ v).transpose(0, 2, 1, 3).reshape(B, L, C)
    return o @ proj_w.T + proj_b


def mlp_torch(x, sd, p):
    return gelu(x @ sd[p + 'mlp.fc1.weight'].T + sd[p + 'mlp.fc1.bias']) @ sd[p + 'mlp.fc2.weight'].T + sd[p + 'mlp.fc2.bias']


def block_torch(x, sd, p, heads):
    x = x + attention_torch(layer_norm(x, sd[p + 'norm1.weight'], sd[p + 'norm1.bias']), sd[p + 'attn.qkv.weight'],
                            sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'], heads)
    return x + mlp_torch(layer_norm(x, sd[p + 'norm2.weight'], sd[p + 'norm2.bias']), sd, p)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = np.exp(-math.log(10000) * np.arange(half, dtype=np.float32) / half).astype(np.float32).astype(np.float64)
    args = t[:, None] * freqs[None]
    return np.concatenate([np.cos(args), np.sin(args)], -1)


def batch_norm_train(x, w, b, rm, rv, momentum=0.1):
    n = x.shape[0]
    mu = x.mean(0)
    var = ((x - mu) ** 2).mean(0)
    y = (x - mu) / np.sqrt(var + EPS) * w + b
    return y, (1 - momentum) * rm + momentum * mu, (1 - momentum) * rv + momentum * var * n / (n - 1)


def batch_norm_eval(x, w, b, rm, rv):
    return (x - rm) / np.sqrt(rv + EPS) * w + b


def lst(a):
    return np.asarray(a, dtype=np.float64).ravel().tolist()


def f32(a):
    """Round to float32 (what the TS side stores), back to float64 for the reference maths."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def make_layers(rng):
    D, heads, B, T = 8, 2, 2, 5
    out = {}
    x = f32(rng.normal(size=(3, 5, D)) * 2 + 0.5)
    w, b = f32(rng.normal(size=D)), f32(rng.normal(size=D))
    out['layerNorm'] = {'x': lst(x), 'shape': list(x.shape), 'weight': lst(w), 'bias': lst(b), 'y': lst(layer_norm(x, w, b))}
    g = f32(np.concatenate([np.linspace(-6, 6, 41), rng.normal(size=9) * 3]))
    out['gelu'] = {'x': lst(g), 'y': lst(gelu(g))}
    xa = f32(rng.normal(size=(B, T, D)))
    qkv = f32(rng.normal(size=(3 * D, D)) * 0.4)  # torch (out, in)
    pw, pb = f32(rng.normal(size=(D, D)) * 0.4), f32(rng.normal(size=D) * 0.1)
    out['attention'] = {'x': lst(xa), 'shape': [B, T, D], 'heads': heads, 'qkv': lst(qkv.T), 'proj': lst(pw.T), 'projBias': lst(pb),
                        'y': lst(attention_torch(xa, qkv, pw, pb, heads))}
    xb = f32(rng.normal(size=(6, 4)) * 1.5 + 0.3)
    bw, bb = f32(rng.normal(size=4)), f32(rng.normal(size=4))
    rm, rv = f32(rng.normal(size=4) * 0.1), f32(rng.uniform(0.5, 2.0, size=4))
    y, nm, nv = batch_norm_train(xb, bw, bb, rm, rv)
    out['batchNorm'] = {'x': lst(xb), 'shape': [6, 4], 'weight': lst(bw), 'bias': lst(bb), 'runningMean': lst(rm), 'runningVar': lst(rv),
                        'yTrain': lst(y), 'newRunningMean': lst(nm), 'newRunningVar': lst(nv), 'yEval': lst(batch_norm_eval(xb, bw, bb, rm, rv))}
    sd = {}
    p = 'blk.'
    sd[p + 'norm1.weight'], sd[p + 'norm1.bias'] = f32(1 + 0.2 * rng.normal(size=D)), f32(0.1 * rng.normal(size=D))
    sd[p + 'attn.qkv.weight'] = f32(rng.normal(size=(3 * D, D)) * 0.4)
    sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'] = f32(rng.normal(size=(D, D)) * 0.4), f32(rng.normal(size=D) * 0.1)
    sd[p + 'norm2.weight'], sd[p + 'norm2.bias'] = f32(1 + 0.2 * rng.normal(size=D)), f32(0.1 * rng.normal(size=D))
    sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias'] = f32(rng.normal(size=(4 * D, D)) * 0.4), f32(rng.normal(size=4 * D) * 0.1)
    sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'] = f32(rng.normal(size=(D, 4 * D)) * 0.2), f32(rng.normal(size=D) * 0.1)
    xk = f32(rng.normal(size=(B, T, D)))
    ours = {k[len(p):]: lst(v.T if v.ndim == 2 else v) for k, v in sd.items()}
    out['encoderBlock'] = {'x': lst(xk), 'shape': [B, T, D], 'heads': heads, 'weights': ours, 'y': lst(block_torch(xk, sd, p, heads))}
    tv = np.array([250 * math.log(320.0), 250 * math.log(0.008), 0.0, 3.5, -17.25], dtype=np.float64)
    tv = f32(tv)
    out['timeEmbedding'] = {'t': lst(tv), 'dim': 16, 'y': lst(timestep_embedding(tv, 16))}
    return out


# --- test-micro preset (src/config.ts): 8×8×3, patch 4, encoder 2/16/2, decoder 2/24/3, 3 classes, projector 32→8
IMG, P, C, K = 8, 4, 3, 3
D, DEPTH, HEADS = 16, 2, 2
d, DDEPTH, DHEADS = 24, 2, 3
PH, PO = 32, 8
L = (IMG // P) ** 2
T = L + 2


def make_state_dict(rng):
    sd = {}

    def lin(name, fin, fout, bias=True, scale=None):
        s = scale if scale is not None else math.sqrt(2.0 / (fin + fout))
        sd[name + '.weight'] = f32(rng.normal(size=(fout, fin)) * s)
        if bias:
            sd[name + '.bias'] = f32(rng.normal(size=fout) * 0.05)

    def norm(name, w):
        sd[name + '.weight'] = f32(1 + 0.1 * rng.normal(size=w))
        sd[name + '.bias'] = f32(0.05 * rng.normal(size=w))

    def block(p, w):
        norm(p + 'norm1', w)
        lin(p + 'attn.qkv', w, 3 * w, bias=False)
        lin(p + 'attn.proj', w, w)
        norm(p + 'norm2', w)
        lin(p + 'mlp.fc1', w, 4 * w)
        lin(p + 'mlp.fc2', 4 * w, w)

    sd['patch_embed.proj.weight'] = f32(rng.normal(size=(D, C, P, P)) * 0.2)
    sd['patch_embed.proj.bias'] = f32(rng.normal(size=D) * 0.05)
    sd['cls_token'] = f32(rng.normal(size=(1, 1, D)) * 0.5)
    sd['pos_embed'] = f32(rng.normal(size=(1, T, D)) * 0.1)
    for i in range(DEPTH):
        block(f'blocks.{i}.', D)
    norm('norm', D)
    sd['class_embed.weight'] = f32(rng.normal(size=(K + 1, D)) * 0.5)
    lin('encoder_to_decoder', D, d)
    for j in range(DDEPTH):
        p = f'decoder_blocks.{j}.'
        block(p, d)
        lin(p + 'skip_linear', d + D, d)
        norm(p + 'skip_norm', d)
        lin(p + 'adaLN_modulation.1', D, 6 * d, scale=0.1)
    norm('out_norm', d)
    lin('out', d, P * P * C)
    # rRCM-style projection head (Sequential indices 0 Linear, 1 BN, 3 Linear, 4 BN, 6 Linear)
    lin('projection_head.0', D, PH, bias=False)
    lin('projection_head.3', PH, PH, bias=False)
    lin('projection_head.6', PH, PO, bias=False)
    for i in (1, 4):
        norm(f'projection_head.{i}', PH)
        sd[f'projection_head.{i}.running_mean'] = f32(0.1 * rng.normal(size=PH))
        sd[f'projection_head.{i}.running_var'] = f32(rng.uniform(0.5, 2.0, size=PH))
    return sd


def encoder_torch(sd, x_nchw, t, y):
    B = x_nchw.shape[0]
    # Conv2d(k = s = P) as a sum over each patch, output flattened row-major (BCHW -> BNC).
    xp = x_nchw.reshape(B, C, IMG // P, P, IMG // P, P)
    tok = np.einsum('bcgphq,dcpq->bghd', xp, sd['patch_embed.proj.weight']).reshape(B, L, D) + sd['patch_embed.proj.bias']
    time = timestep_embedding(t, D)
    cls = np.broadcast_to(sd['cls_token'], (B, 1, D))
    lab = None
    if y is not None:
        lab = sd['class_embed.weight'][y]
        cls = cls + lab[:, None, :]
    h = np.concatenate([cls, time[:, None, :], tok], 1) + sd['pos_embed']
    skips = []
    for i in range(DEPTH):
        h = block_torch(h, sd, f'blocks.{i}.', HEADS)
        skips.append(h)
    return h, skips, time, lab


def dmvit_forward(sd, x_nchw, t, y):
    B = x_nchw.shape[0]
    h, skips, time, lab = encoder_torch(sd, x_nchw, t, y)
    h = layer_norm(h, sd['norm.weight'], sd['norm.bias'])
    h = h @ sd['encoder_to_decoder.weight'].T + sd['encoder_to_decoder.bias']
    c = time + lab if lab is not None else time
    for j in range(DDEPTH):
        p = f'decoder_blocks.{j}.'
        s = skips.pop()
        h = np.concatenate([h, s], 2) @ sd[p + 'skip_linear.weight'].T + sd[p + 'skip_linear.bias']
        h = layer_norm(h, sd[p + 'skip_norm.weight'], sd[p + 'skip_norm.bias'])
        silu = c / (1 + np.exp(-c))
        mods = (silu @ sd[p + 'adaLN_modulation.1.weight'].T + sd[p + 'adaLN_modulation.1.bias'])[:, None, :]
        sh1, sc1, g1, sh2, sc2, g2 = np.split(mods, 6, axis=2)
        a = attention_torch(layer_norm(h, sd[p + 'norm1.weight'], sd[p + 'norm1.bias']) * (1 + sc1) + sh1,
                            sd[p + 'attn.qkv.weight'], sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'], DHEADS)
        h = h + g1 * a
        h = h + g2 * mlp_torch(layer_norm(h, sd[p + 'norm2.weight'], sd[p + 'norm2.bias']) * (1 + sc2) + sh2, sd, p)
    o = layer_norm(h[:, 2:], sd['out_norm.weight'], sd['out_norm.bias']) @ sd['out.weight'].T + sd['out.bias']
    g = IMG // P
    # einops "b (m n) (p1 p2 c) -> b c (m p1) (n p2)"
    return o.reshape(B, g, g, P, P, C).transpose(0, 5, 1, 3, 2, 4).reshape(B, C, IMG, IMG)


def pretrain_forward(sd, x_nchw, t):
    h, _, _, _ = encoder_torch(sd, x_nchw, t, None)
    z = layer_norm(h[:, 0], sd['norm.weight'], sd['norm.bias'])

    def bn(v, i):
        return batch_norm_eval(v, sd[f'projection_head.{i}.weight'], sd[f'projection_head.{i}.bias'],
                               sd[f'projection_head.{i}.running_mean'], sd[f'projection_head.{i}.running_var'])

    u = np.maximum(bn(z @ sd['projection_head.0.weight'].T, 1), 0)
    u = np.maximum(bn(u @ sd['projection_head.3.weight'].T, 4), 0)
    return z, u @ sd['projection_head.6.weight'].T


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20260404)
    with open(os.path.join(OUT, 'layers.json'), 'w') as f:
        json.dump(make_layers(rng), f)
    sd = make_state_dict(rng)
    write_safetensors(os.path.join(OUT, 'micro_torch.safetensors'), sd)
    B = 3
    x = f32(rng.normal(size=(B, C, IMG, IMG)))
    t = f32(np.array([250 * math.log(4 * 0.3), 250 * math.log(4 * 7.0), 250 * math.log(4 * 80.0)]))
    y = np.array([0, 2, K])  # K is the null label
    out = dmvit_forward(sd, x, t, y)
    out_uncond = dmvit_forward(sd, x, t, None)
    z, proj = pretrain_forward(sd, x, t)
    ref = {
        'preset': 'test-micro',
        'xNHWC': lst(x.transpose(0, 2, 3, 1)), 'inputShape': [B, IMG, IMG, C],
        't': lst(t), 'labels': y.tolist(),
        'networkNHWC': lst(out.transpose(0, 2, 3, 1)),
        'networkUncondNHWC': lst(out_uncond.transpose(0, 2, 3, 1)),
        'cls': lst(z), 'proj': lst(proj),
    }
    with open(os.path.join(OUT, 'micro_ref.json'), 'w') as f:
        json.dump(ref, f)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
