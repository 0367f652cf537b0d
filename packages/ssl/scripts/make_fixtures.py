"""Float64 reference values for @epg/ssl's NT-Xent (docs/ssl.md, "NT-Xent"); run `pnpm fixtures`.

ℓ_r = logsumexp_j(q̂_r·k̂_j / τ_r) − q̂_r·k̂_r / τ_r with q̂, k̂ L2-normalised (rRCM/EPG
`contrastive_loss`; keys of the local batch first, so the positive of query r is key r). The gradients
of Σ_r w_r ℓ_r with respect to q and k are derived by hand below and checked here against central
finite differences, so the fixture does not rest on the same derivation as the code under test.
"""
import json
import os

import numpy as np


def normalise(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12), n


def nt_xent(q, k, tau, two_tau=False):
    qn, _ = normalise(q)
    kn, _ = normalise(k)
    s = qn @ kn.T
    a = s / tau[:, None]
    m = a.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]
    loss = lse - np.diag(a[:, : q.shape[0]])
    return loss * (2 * tau) if two_tau else loss


def grads(q, k, tau, w, two_tau=False):
    b = q.shape[0]
    qn, qnorm = normalise(q)
    kn, knorm = normalise(k)
    a = (qn @ kn.T) / tau[:, None]
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    eye = np.zeros_like(a)
    eye[np.arange(b), np.arange(b)] = 1.0
    scale = w * (2 * tau if two_tau else 1.0)
    ds = scale[:, None] * (p - eye) / tau[:, None]  # dL/ds, s = q̂·k̂
    g_qn = ds @ kn
    g_kn = ds.T @ qn
    # x̂ = x/‖x‖  ⇒  dL/dx = (g − x̂(x̂·g)) / ‖x‖
    g_q = (g_qn - qn * (qn * g_qn).sum(1, keepdims=True)) / qnorm
    g_k = (g_kn - kn * (kn * g_kn).sum(1, keepdims=True)) / knorm
    return g_q, g_k


def finite_diff(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp = x.copy(); xp[idx] += h
        xm = x.copy(); xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g


def case(rng, bq, bk, c, per_sample, two_tau):
    q = rng.standard_normal((bq, c))
    k = rng.standard_normal((bk, c))
    k[:bq] += 1.5 * q  # positives correlated with their queries, as in training
    tau = rng.uniform(0.05, 0.5, bq) if per_sample else np.full(bq, 0.2)
    w = rng.uniform(0.5, 1.5, bq)
    loss = nt_xent(q, k, tau, two_tau)
    g_q, g_k = grads(q, k, tau, w, two_tau)
    fq = finite_diff(lambda x: (w * nt_xent(x, k, tau, two_tau)).sum(), q)
    fk = finite_diff(lambda x: (w * nt_xent(q, x, tau, two_tau)).sum(), k)
    assert np.abs(fq - g_q).max() < 1e-6 and np.abs(fk - g_k).max() < 1e-6, 'hand gradient disagrees with finite differences'
    return {
        'q': q.ravel().tolist(), 'k': k.ravel().tolist(), 'bq': bq, 'bk': bk, 'c': c,
        'tau': tau.tolist(), 'per_sample_tau': per_sample, 'two_tau': two_tau, 'weights': w.tolist(),
        'loss': loss.tolist(), 'grad_q': g_q.ravel().tolist(), 'grad_k': g_k.ravel().tolist(),
    }


def main():
    rng = np.random.default_rng(20260412)
    cases = {
        'scalar_tau_square': case(rng, 6, 6, 5, False, False),
        'per_sample_tau_global_keys': case(rng, 5, 9, 7, True, False),
        'moco_v3_two_tau': case(rng, 4, 4, 3, False, True),
    }
    out = os.path.join(os.path.dirname(__file__), '..', 'src', '__fixtures__', 'nt_xent.json')
    with open(out, 'w') as f:
        json.dump(cases, f)
    print('wrote', os.path.normpath(out))


if __name__ == '__main__':
    main()
