#!/usr/bin/env python3
"""Reference numbers for @epg/metrics tests, from numpy/scipy (pytorch-fid / torch-fidelity formulas).

Inputs are generated deterministically by a 32-bit integer hash that the TypeScript tests
reproduce bit for bit (src/__fixtures__/synthetic.ts), so the fixture stores only seeds and shapes
plus the reference outputs. Run from packages/metrics:  python3 scripts/make_fixtures.py
Writes src/__fixtures__/metrics-fixtures.json.
"""
import json
import sys

import numpy as np
import scipy
import scipy.linalg


def hash_uniform(seed, n, d):
    """u[i, j] in [0, 1): lowbias32 hash of (seed * 0x9E3779B9 + i*d + j) mod 2^32, divided by 2^32."""
    k = np.arange(n * d, dtype=np.uint64)
    x = ((np.uint64(seed) * np.uint64(0x9E3779B9) + k) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    x ^= x >> np.uint32(16)
    x = (x.astype(np.uint64) * np.uint64(0x7FEB352D) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    x ^= x >> np.uint32(15)
    x = (x.astype(np.uint64) * np.uint64(0x846CA68B) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    x ^= x >> np.uint32(16)
    return (x.astype(np.float64) / 4294967296.0).reshape(n, d)


def synthetic_features(seed, n, d, scale):
    """x[i,j] = scale * ((u[i,j] - 0.5) * (1 + j % 7) + 0.5 * (u[i,(j+1)%d] - 0.5)) + 0.01 * (j % 5)."""
    z = hash_uniform(seed, n, d) - 0.5
    j = np.arange(d)
    zn = z[:, (j + 1) % d]
    return scale * (z * (1.0 + (j % 7)) + 0.5 * zn) + 0.01 * (j % 5)


def fid_pytorch_fid(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid calculate_frechet_distance (v0.3.0), verbatim logic."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if isinstance(covmean, tuple):
        covmean = covmean[0]
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_symmetric(mu1, s1, mu2, s2):
    """docs/metrics-reference.md §2: tr sqrt(S1 S2) = sum sqrt(eig(S1^1/2 S2 S1^1/2)), negatives clipped."""
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.linalg.eigvalsh(r @ s2 @ r)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


def fid_mpmath(x1, x2, dps=40):
    """High-precision reference: covariances and tr sqrt(S1^1/2 S2 S1^1/2) in mpmath (small d only)."""
    import mpmath
    mpmath.mp.dps = dps
    def cov(x):
        n, d = x.shape
        m = mpmath.matrix(x.tolist())
        mu = [mpmath.fsum(m[i, j] for i in range(n)) / n for j in range(d)]
        c = mpmath.matrix(d, d)
        for a in range(d):
            for b in range(a, d):
                v = mpmath.fsum((m[i, a] - mu[a]) * (m[i, b] - mu[b]) for i in range(n)) / (n - 1)
                c[a, b] = v
                c[b, a] = v
        return mu, c
    mu1, c1 = cov(x1)
    mu2, c2 = cov(x2)
    w, v = mpmath.eigsy(c1)
    d = c1.rows
    r = v * mpmath.diag([mpmath.sqrt(max(w[i], 0)) for i in range(d)]) * v.T
    lam = mpmath.eigsy(r * c2 * r, eigvals_only=True)
    tr = mpmath.fsum(mpmath.sqrt(max(l, 0)) for l in lam)
    val = mpmath.fsum((mu1[i] - mu2[i]) ** 2 for i in range(d)) + mpmath.fsum(c1[i, i] for i in range(d)) + mpmath.fsum(c2[i, i] for i in range(d)) - 2 * tr
    return float(val)


def mmd2_unbiased(x, y):
    """torch-fidelity metric_kid.py: polynomial kernel (x.y/d + 1)^3, unbiased estimator."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m = x.shape[0]
    return float(((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))


def inception_score(logits, splits):
    """torch-fidelity metric_isc.py without shuffling: float64 softmax, i*N//k splits."""
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    n = p.shape[0]
    scores = []
    for k in range(splits):
        part = p[k * n // splits:(k + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        kl = part * (np.log(part) - np.log(py))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def precision_recall(real, fake, k=3):
    """Kynkaanniemi et al. 2019 / ADM ManifoldEstimator: radius = k-th neighbour excluding self, <=."""
    def radii(f):
        d2 = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
        return np.sort(d2, axis=1)[:, k]  # index 0 is the point itself
    rr, rf = radii(real), radii(fake)
    d_fr = ((fake[:, None, :] - real[None, :, :]) ** 2).sum(-1)
    precision = float((d_fr <= rr[None, :]).any(axis=1).mean())
    recall = float((d_fr.T <= rf[None, :]).any(axis=1).mean())
    return precision, recall


def main():
    out = {"numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0], "fid": [], "kid": [], "is": [], "pr": []}
    # d, n1, n2, seed1, seed2, scale2, slow
    fid_cases = [
        (2, 50, 60, 1, 2, 1.0, False),
        (16, 200, 300, 3, 4, 1.3, False),
        (64, 1000, 800, 5, 6, 0.9, False),
        (64, 40, 500, 7, 8, 1.1, False),     # rank-deficient first covariance (n1 < d)
        (256, 2000, 1500, 9, 10, 1.2, False),
        (512, 300, 400, 11, 12, 1.0, False),  # both rank-deficient
        (2048, 500, 600, 13, 14, 1.1, False), # both rank-deficient, 2048-d
        (2048, 3000, 2500, 15, 16, 1.05, True),  # full rank, 2048-d (slow test)
    ]
    for d, n1, n2, s1, s2, scale2, slow in fid_cases:
        x1 = synthetic_features(s1, n1, d, 1.0)
        x2 = synthetic_features(s2, n2, d, scale2)
        mu1, mu2 = x1.mean(0), x2.mean(0)
        c1, c2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
        if d == 2:
            out["stats_probe"] = {"mu": mu1.tolist(), "sigma": c1.ravel().tolist()}
        extra = {}
        if d <= 16 or (d == 64 and n1 < d):
            extra["fid_mpmath"] = fid_mpmath(x1, x2)
        out["fid"].append({**extra,
            "dim": d, "n1": n1, "n2": n2, "seed1": s1, "seed2": s2, "scale2": scale2, "slow": slow,
            "fid_scipy_sqrtm": fid_pytorch_fid(mu1, c1, mu2, c2),
            "fid_symmetric_eigh": fid_symmetric(mu1, c1, mu2, c2),
            "trace1": float(np.trace(c1)), "trace2": float(np.trace(c2)),
            "mu1_sum": float(mu1.sum()), "sigma1_sum": float(c1.sum()),
        })
        print(f"fid d={d} n=({n1},{n2}): sqrtm {out['fid'][-1]['fid_scipy_sqrtm']:.12g} eigh {out['fid'][-1]['fid_symmetric_eigh']:.12g}")
    for d, m, s1, s2 in [(8, 50, 21, 22), (64, 120, 23, 24)]:
        x = synthetic_features(s1, m, d, 1.0)
        y = synthetic_features(s2, m, d, 1.2)
        out["kid"].append({"dim": d, "m": m, "seed1": s1, "seed2": s2, "scale2": 1.2, "mmd2": mmd2_unbiased(x, y)})
    for n, c, seed, splits in [(100, 10, 31, 10), (103, 7, 32, 3)]:
        logits = 6.0 * (hash_uniform(seed, n, c) - 0.5)
        mean, std = inception_score(logits, splits)
        out["is"].append({"n": n, "classes": c, "seed": seed, "scale": 6.0, "splits": splits, "mean": mean, "std": std})
    for d, nr, nf, s1, s2, scale2 in [(4, 60, 50, 41, 42, 1.3), (16, 200, 150, 43, 44, 0.8)]:
        real = synthetic_features(s1, nr, d, 1.0)
        fake = synthetic_features(s2, nf, d, scale2)
        p, r = precision_recall(real, fake)
        out["pr"].append({"dim": d, "nReal": nr, "nFake": nf, "seed1": s1, "seed2": s2, "scale2": scale2, "precision": p, "recall": r})
    with open("src/__fixtures__/metrics-fixtures.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
