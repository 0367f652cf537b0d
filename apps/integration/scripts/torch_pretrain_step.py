#!/usr/bin/env python3
"""PyTorch twin of @epg/ssl's EPG pre-training step, for the bench's ratio (bench/pretrain-step.bench.ts).

The same work per step as `Pretrainer.step` on an @epg/vit pre-training model: 2 target forwards and
1 online key forward under no_grad, 3 online forwards in the tape (two views at σ₀, x_a), NT-Xent on
both terms, one backward, AdamW (wd 0.03 on all parameters), EMA 0.99 over parameters. The ViT is the
rRCM/EPG one (docs/vit.md): patch embedding, [CLS] + time token, learnable pos-embed, pre-LN blocks
(qkv without bias, exact GELU), final LayerNorm, 3-layer BN projector. Float32, CPU.

Usage: python3 torch_pretrain_step.py '{"image": 28, "channels": 1, "patch": 4, "depth": 6, "width": 192,
        "heads": 3, "hidden": 1024, "out": 256, "batch": 32, "threads": 1, "steps": 5}'
Prints one JSON line: {"images_per_s": ..., "ms_per_step": ..., "torch": version}.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, D = x.shape
        h = self.norm1(x)
        q, k, v = self.qkv(h).reshape(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // self.heads), dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class PretrainViT(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c['width'], c['patch']
        self.p, self.d = p, d
        self.patch_embed = nn.Linear(p * p * c['channels'], d)
        L = (c['image'] // p) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, L + 2, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, c['heads']) for _ in range(c['depth'])])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        h, o = c['hidden'], c['out']
        self.head = nn.Sequential(nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(),
                                  nn.Linear(h, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, o, bias=False))

    def time_embed(self, t):
        half = self.d // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
        args = t[:, None].double() * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], 1).float()

    def forward(self, x, sigma):
        B, H, W, C = x.shape
        x = x / math.sqrt(sigma ** 2 + 0.25)
        p = self.p
        patches = x.reshape(B, H // p, p, W // p, p, C).permute(0, 1, 3, 2, 4, 5).reshape(B, -1, p * p * C)
        t = torch.full((B,), 250 * math.log(sigma))
        tok = torch.cat([self.cls_token.expand(B, -1, -1), self.time_embed(t)[:, None], self.patch_embed(patches)], 1)
        tok = tok + self.pos_embed
        for blk in self.blocks:
            tok = blk(tok)
        z = self.norm(tok[:, 0])
        return self.head(z), z


def nt_xent(q, k, tau):
    q = F.normalize(q, dim=1)
    k = F.normalize(k, dim=1)
    logits = q @ k.t() / tau
    return F.cross_entropy(logits, torch.arange(q.shape[0]), reduction='none')


def main():
    c = json.loads(sys.argv[1])
    torch.set_num_threads(c.get('threads', 1))
    torch.manual_seed(0)
    online = PretrainViT(c)
    target = PretrainViT(c)
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(online.parameters(), lr=1e-4, weight_decay=0.03)
    B, S, Ch = c['batch'], c['image'], c['channels']
    g = torch.Generator().manual_seed(1)
    x0, y1, y2 = (torch.randn(B, S, S, Ch, generator=g) for _ in range(3))
    s0, sa, sb = 0.002 * S / 64, 1.0, 0.8

    def step():
        eps = torch.randn(B, S, S, Ch)
        v1, v2, xa, xb = y1 + s0 * eps, y2 + s0 * eps, x0 + sa * eps, x0 + sb * eps
        with torch.no_grad():
            k1, k2 = target(v1, s0)[0], target(v2, s0)[0]
            w = online(xb, sb)[1]
        q1, q2 = online(v1, s0)[0], online(v2, s0)[0]
        u = online(xa, sa)[1]
        loss = (nt_xent(q1, k2, 0.2) + nt_xent(q2, k1, 0.2) + nt_xent(u, w, 0.1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pt, po in zip(target.parameters(), online.parameters()):
                pt.mul_(0.99).add_(po, alpha=0.01)

    step()  # warm-up
    times = []
    for _ in range(c.get('steps', 5)):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({'images_per_s': B / med, 'ms_per_step': med * 1000, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
