"""
PyTorch twins of epg-ts's CPU training steps, for `pnpm bench` in tooling/twins (bench only, never CI).

Each workload mirrors the TypeScript one op for op at the level of FLOPs: the ViT of @epg/vit
(pre-LN blocks, qkv without bias, exact GELU, [CLS] + time tokens, adaLN-Zero decoder with skip
fusion), EPG's x0 parameterisation (c_in, 250·ln σ time), AdamW, and Inception-v3 pool3 features.
Input: one JSON object on argv[1] (config and workloads); output: one JSON line with process CPU and
wall seconds per call of each workload, plus the BLAS build and core that ran.

    python3 twins.py '{"threads": 1, "workloads": ["encoder"], "vit": {...}, "batch": 64, ...}'
"""
import ctypes
import ctypes.util
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def blas_info():
    """The OpenBLAS that torch's process loaded (Debian's torch links the system OpenBLAS)."""
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas") or ""):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return f"{lib.openblas_get_config().decode()}; core {lib.openblas_get_corename().decode()}"
        except OSError:
            continue
    cfg = torch.__config__.show()
    line = next((l.strip() for l in cfg.splitlines() if "BLAS_INFO" in l), "BLAS unknown")
    return line


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        a = a.softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DecoderBlock(Block):
    def __init__(self, dim, enc_dim, heads, mlp_ratio):
        super().__init__(dim, heads, mlp_ratio)
        self.skip_linear = nn.Linear(dim + enc_dim, dim)
        self.skip_norm = nn.LayerNorm(dim, eps=1e-6)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(enc_dim, 6 * dim))

    def forward(self, x, cond, skip):
        x = self.skip_norm(self.skip_linear(torch.cat([x, skip], dim=-1)))
        s1, c1, g1, s2, c2, g2 = self.adaLN_modulation(cond)[:, None].chunk(6, dim=-1)
        x = x + g1 * self.attn(self.norm1(x) * (1 + c1) + s1)
        return x + g2 * self.mlp(self.norm2(x) * (1 + c2) + s2)


class ViT(nn.Module):
    """@epg/vit's encoder (+ projector) and fine-tuning network (encoder + decoder)."""

    def __init__(self, cfg, with_decoder, with_projector):
        super().__init__()
        self.cfg = cfg
        p, c, size = cfg["patchSize"], cfg["channels"], cfg["imageSize"]
        enc, dec = cfg["encoder"], cfg.get("decoder")
        d = enc["width"]
        patches = (size // p) ** 2
        self.patch_embed = nn.Linear(c * p * p, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, patches + 2, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, enc["heads"], cfg["mlpRatio"]) for _ in range(enc["depth"])])
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.projection_head = None
        if with_projector:
            pr = cfg["projector"]
            self.projection_head = nn.Sequential(
                nn.Linear(d, pr["hidden"], bias=False), nn.BatchNorm1d(pr["hidden"], eps=1e-6), nn.ReLU(),
                nn.Linear(pr["hidden"], pr["hidden"], bias=False), nn.BatchNorm1d(pr["hidden"], eps=1e-6), nn.ReLU(),
                nn.Linear(pr["hidden"], pr["out"], bias=False))
        self.decoder = None
        if with_decoder:
            w = dec["width"]
            self.decoder = nn.ModuleList([DecoderBlock(w, d, dec["heads"], cfg["mlpRatio"]) for _ in range(dec["depth"])])
            self.out_norm = nn.LayerNorm(w, eps=1e-6)
            self.out = nn.Linear(w, c * p * p)

    def patchify(self, x):  # NHWC, as the TypeScript side
        b, h, w, c = x.shape
        p = self.cfg["patchSize"]
        return x.reshape(b, h // p, p, w // p, p, c).permute(0, 1, 3, 2, 4, 5).reshape(b, (h // p) * (w // p), p * p * c)

    def unpatchify(self, t, b):
        p, c, s = self.cfg["patchSize"], self.cfg["channels"], self.cfg["imageSize"]
        n = s // p
        return t.reshape(b, n, n, p, p, c).permute(0, 1, 3, 2, 4, 5).reshape(b, s, s, c)

    def encode(self, x, t):
        b = x.shape[0]
        d = self.cfg["encoder"]["width"]
        time = timestep_embedding(t, d)
        h = torch.cat([self.cls_token.expand(b, -1, -1), time[:, None], self.patch_embed(self.patchify(x))], dim=1) + self.pos_embed
        skips = []
        for blk in self.blocks:
            h = blk(h)
            skips.append(h)
        return h, skips, time

    def forward_pretrain(self, x, t):
        h, _, _ = self.encode(x, t)
        cls = self.norm(h[:, 0])
        return cls, self.projection_head(cls)

    def forward(self, x, t):
        b = x.shape[0]
        h, skips, cond = self.encode(x, t)
        h = self.norm(h)
        for blk in self.decoder:
            h = blk(h, cond, skips.pop())
        return self.unpatchify(self.out(self.out_norm(h[:, 2:])), b)


SIGMA_DATA = 0.5


def x0_denoiser(net, x, sigma):
    c_in = 1 / torch.sqrt(sigma ** 2 + SIGMA_DATA ** 2)
    return net(x * c_in[:, None, None, None], 250 * torch.log(sigma))


def encoder_at(net, x, sigma):
    """@epg/contracts encoderAt: c_in(σ)·x and the time value, then the encoder (+ projector): (cls, proj)."""
    c_in = 1 / torch.sqrt(sigma ** 2 + SIGMA_DATA ** 2)
    return net.forward_pretrain(x * c_in[:, None, None, None], 250 * torch.log(sigma))


def boundary_denoiser(net, x, sigma, sigma_min):
    """@epg/diffusion boundaryDenoiser: c_skip·x + c_out·F(c_in·x, τ) (c_skip(σ_min) = 1)."""
    d = sigma - sigma_min
    sd2 = SIGMA_DATA ** 2
    c_skip = sd2 / (d * d + sd2)
    c_out = d * SIGMA_DATA / torch.sqrt(sigma ** 2 + sd2)
    c_in = 1 / torch.sqrt(sigma ** 2 + sd2)
    f = net(x * c_in[:, None, None, None], 250 * torch.log(sigma))
    return x * c_skip[:, None, None, None] + f * c_out[:, None, None, None]


def nt_xent(q, k, tau):
    """@epg/ssl ntXent: one direction, L2-normalised cosine logits / τ, positives on the diagonal ([B])."""
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).t() / tau
    return torch.logsumexp(logits, dim=1) - logits.diagonal()


PROFILE = False


def timed(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    if PROFILE:
        return profiled(fn)
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        fn()
    return {"cpu": (time.process_time() - c0) / reps, "wall": (time.perf_counter() - w0) / reps}


def profiled(fn):
    """One call under torch.profiler: self CPU time per op (ms), biggest first (profile.ts prints it)."""
    from torch.profiler import ProfilerActivity, profile

    c0, w0 = time.process_time(), time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    r = {"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0}
    ops = [{"name": e.key, "self_ms": e.self_cpu_time_total / 1000, "calls": e.count} for e in prof.key_averages()]
    ops.sort(key=lambda o: -o["self_ms"])
    gemm = []
    for e in prof.key_averages(group_by_input_shape=True):
        if e.key not in ("aten::mm", "aten::addmm", "aten::bmm"):
            continue
        shapes = [s for s in e.input_shapes if s]
        if e.key == "aten::addmm":
            shapes = shapes[1:]  # (bias, a, b)
        a, b = shapes[0], shapes[1]
        flop = 2 * a[-2] * a[-1] * b[-1] * (a[0] if len(a) == 3 else 1)
        ms = e.self_cpu_time_total / 1000
        gemm.append({"name": e.key, "shapes": f"{a}·{b}", "self_ms": ms, "calls": e.count, "gflops": flop * e.count / 1e6 / max(ms, 1e-9)})
    gemm.sort(key=lambda o: -o["self_ms"])
    r["profile"] = {"total_ms": sum(o["self_ms"] for o in ops), "ops": ops[:40], "gemm": gemm[:40]}
    return r


def main():
    global PROFILE
    spec = json.loads(sys.argv[1])
    PROFILE = bool(spec.get("profile", False))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    cfg, batch, reps = spec["vit"], spec["batch"], spec.get("reps", 5)
    s, c = cfg["imageSize"], cfg["channels"]
    out = {"torch": torch.__version__, "blas": blas_info(), "threads": torch.get_num_threads(), "results": {}}
    for name in spec["workloads"]:
        if name == "encoder":
            net = ViT(cfg, with_decoder=False, with_projector=True).train()
            x = torch.randn(batch, s, s, c)
            t = 250 * torch.log(0.01 + torch.arange(batch, dtype=torch.float32))

            def step():
                net.zero_grad(set_to_none=True)
                cls, proj = net.forward_pretrain(x, t)
                ((proj ** 2).mean() + (cls ** 2).mean()).backward()

            out["results"][name] = timed(step, reps)
        elif name == "dm-step":
            net = ViT(cfg, with_decoder=True, with_projector=False).train()
            opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.0)
            x0 = torch.randn(batch, s, s, c)

            def step():
                sigma = torch.exp(-1.2 + 1.6 * torch.randn(batch))
                weight = torch.rand(batch)
                noise = torch.randn_like(x0)
                opt.zero_grad(set_to_none=True)
                pred = x0_denoiser(net, x0 + noise * sigma[:, None, None, None], sigma)
                loss = (((pred - x0) ** 2).mean(dim=(1, 2, 3)) * weight).mean()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), spec.get("clipNorm", 0.5))
                opt.step()

            out["results"][name] = timed(step, reps)
        elif name == "pretrain-step":
            # @epg/ssl Pretrainer.step, 'epg' config: 2 target projector passes (v1, v2 at σ0) and the
            # online key w at σ_b without grad; in the tape the online projector passes on v1, v2 and
            # the online [CLS] at σ_a; NT-Xent (τ 0.2) both ways + NT-Xent (τ(σ)) consistency; grad
            # norm (trainStep reads it), AdamW (0.9, 0.999, wd 0.03 on all), target EMA 0.99.
            online = ViT(cfg, with_decoder=False, with_projector=True).train()
            target = ViT(cfg, with_decoder=False, with_projector=True).train()
            target.load_state_dict(online.state_dict())
            for p in target.parameters():
                p.requires_grad_(False)
            params = [p for p in online.parameters() if p.requires_grad]
            opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), weight_decay=0.03)
            x0, y1, y2 = (torch.randn(batch, s, s, c) for _ in range(3))
            shift = s / 64
            s0 = 0.002 * shift

            def step():
                sa = 0.5 + torch.rand(()).item()
                sb = sa * 1.1
                full = lambda v: torch.full((batch,), v)
                eps = torch.randn(batch, s, s, c)
                v1, v2, xa, xb = y1 + s0 * eps, y2 + s0 * eps, x0 + sa * eps, x0 + sb * eps
                with torch.no_grad():
                    k1 = encoder_at(target, v1, full(s0))[1]
                    k2 = encoder_at(target, v2, full(s0))[1]
                    w = encoder_at(online, xb, full(sb))[0]
                opt.zero_grad(set_to_none=True)
                q1 = encoder_at(online, v1, full(s0))[1]
                q2 = encoder_at(online, v2, full(s0))[1]
                u = encoder_at(online, xa, full(sa))[0]
                loss = (nt_xent(q1, k2, 0.2) + nt_xent(q2, k1, 0.2) + nt_xent(u, w, 0.1)).mean()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, float("inf"))
                opt.step()
                with torch.no_grad():
                    for pt, po in zip(target.parameters(), online.parameters()):
                        pt.mul_(0.99).add_(po, alpha=0.01)

            out["results"][name] = timed(step, reps)
        elif name == "cm-step":
            # @epg/consistency consistencyTrainStep, EPG config: (t, r) from ECT's lognormal, one ε;
            # target f(x_r, r) and auxiliary key g(x₀) without grad; in the tape f(x_t, t), the ECT
            # distance D / sg √(D + c²) weighted 1/(t − r), and NT-Xent (τ 0.1) of g(f(x_t, t)) against
            # the key through the frozen encoder (eval mode, no parameter grads, grad to its input);
            # grad norm, AdamW (0.9, 0.99, wd 0.03), no clip.
            net = ViT(cfg, with_decoder=True, with_projector=False).train()
            frozen = ViT(cfg, with_decoder=False, with_projector=True).eval()
            for p in frozen.parameters():
                p.requires_grad_(False)
            params = list(net.parameters())
            opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.03)
            x0 = torch.randn(batch, s, s, c)
            shift = s / 64
            sigma_min = 0.002 * shift

            def step():
                t = torch.clamp(torch.exp(-0.4 + 1.6 * torch.randn(batch)), min=0.002) * shift
                # ECT stage 0 (q^-s = 1, as @epg/consistency's first stageSteps steps): r = σ_min.
                r = torch.clamp(t * (1 - (1 + 8 * torch.sigmoid(-t / shift))), min=0.002 * shift)
                weight = torch.where(t > r, 1 / (t - r).clamp(min=1e-12), torch.zeros_like(t))
                eps = torch.randn_like(x0)
                xt, xr = x0 + eps * t[:, None, None, None], x0 + eps * r[:, None, None, None]
                with torch.no_grad():
                    tgt = boundary_denoiser(net, xr, r, sigma_min)
                    key = encoder_at(frozen, x0, torch.full((batch,), sigma_min))[1]
                opt.zero_grad(set_to_none=True)
                pred = boundary_denoiser(net, xt, t, sigma_min)
                sq = ((pred - tgt) ** 2).sum(dim=(1, 2, 3))
                dist = sq / torch.sqrt(sq + 0.06 ** 2).detach()
                consistency = (dist * weight).mean()
                aux = nt_xent(encoder_at(frozen, pred, torch.full((batch,), sigma_min))[1], key, 0.1).mean()
                (consistency + aux).backward()
                torch.nn.utils.clip_grad_norm_(params, float("inf"))
                opt.step()

            out["results"][name] = timed(step, reps)
        elif name == "denoise":
            net = ViT(cfg, with_decoder=True, with_projector=False).eval()
            b = spec.get("denoiseBatch", 256)
            x = torch.randn(b, s, s, c)
            sigma = torch.exp(torch.linspace(-3, 3, b))
            with torch.no_grad():
                out["results"][name] = timed(lambda: x0_denoiser(net, x, sigma), reps)
        elif name == "inception":
            import torchvision

            model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, transform_input=False).eval()
            model.fc = nn.Identity()
            b = spec.get("inceptionBatch", 8)
            px = torch.rand(b, 3, 32, 32) * 255
            with torch.no_grad():
                f = lambda: model((F.interpolate(px, size=(299, 299), mode="bilinear", align_corners=False) - 128) / 128)
                r = timed(f, max(1, reps // 2), warmup=1)
            out["results"][name] = {"cpu": r["cpu"] / b, "wall": r["wall"] / b}
        else:
            raise SystemExit(f"twins.py: unknown workload '{name}'")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
