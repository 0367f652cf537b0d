"""Reference values for the fused ops (src/__fixtures__/fused.json), computed in float64 with numpy/scipy.

GELU: x * Phi(x) with scipy's normal CDF, derivative Phi(x) + x * phi(x).
LayerNorm: (x - mean) / sqrt(var + eps) * gamma + beta with the biased variance (Ba et al. 2016);
its gradients of loss = sum(LN(x) * w) by central finite differences (independent of the analytic
backward formula the native kernel uses).
Run: python3 scripts/make_fixtures.py
"""
import json
import pathlib

import numpy as np
from scipy.stats import norm

rng = np.random.default_rng(20261129)
out = {}

x = np.concatenate([np.linspace(-6, 6, 25), rng.standard_normal(15) * 2])
out["gelu"] = {
    "x": x.tolist(),
    "y": (x * norm.cdf(x)).tolist(),
    "dydx": (norm.cdf(x) + x * norm.pdf(x)).tolist(),
}

rows, cols, eps = 3, 7, 1e-5
X = rng.standard_normal((rows, cols)) * 1.5 + 0.3
G = rng.standard_normal(cols)
B = rng.standard_normal(cols)
W = rng.standard_normal((rows, cols))


def ln(X, G, B):
    mu = X.mean(-1, keepdims=True)
    var = ((X - mu) ** 2).mean(-1, keepdims=True)
    return (X - mu) / np.sqrt(var + eps) * G + B


def loss(X, G, B):
    return float((ln(X, G, B) * W).sum())


def fd(f, A, h=1e-6):
    g = np.zeros_like(A)
    for i in np.ndindex(A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[i] += h
        Am[i] -= h
        g[i] = (f(Ap) - f(Am)) / (2 * h)
    return g


out["layerNorm"] = {
    "eps": eps,
    "x": X.tolist(),
    "gamma": G.tolist(),
    "beta": B.tolist(),
    "w": W.tolist(),
    "y": ln(X, G, B).tolist(),
    "dx": fd(lambda A: loss(A, G, B), X).tolist(),
    "dgamma": fd(lambda A: loss(X, A, B), G).tolist(),
    "dbeta": fd(lambda A: loss(X, G, A), B).tolist(),
}

path = pathlib.Path(__file__).resolve().parent.parent / "src" / "__fixtures__" / "fused.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
