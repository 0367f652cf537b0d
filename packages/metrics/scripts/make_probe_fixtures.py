#!/usr/bin/env python3
"""Float64 reference for @epg/metrics' representation probes (src/probes.ts); numpy only.

- kNN: DINO eval_knn.py `knn_classifier`: L2-normalised features, cosine similarity, top-k neighbours
  vote with weight exp(sim / T), argmax of the summed votes (first class on ties).
- Linear probe: standardise with the training mean/std (std floored at 1e-6), zero init, full-batch
  Adam (β 0.9/0.999, ε 1e-8) on mean softmax cross-entropy + ½·l2·‖W‖², argmax prediction.
The script asserts that every prediction wins by a clear margin, so float32 cannot flip it.
Run from packages/metrics:  python3 scripts/make_probe_fixtures.py  → src/__fixtures__/probes.json
"""
import json
import os

import numpy as np


def knn(train, ytr, test, k, T, C):
    a = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-12)
    b = test / np.maximum(np.linalg.norm(test, axis=1, keepdims=True), 1e-12)
    sim = b @ a.T
    idx = np.argsort(-sim, axis=1, kind='stable')[:, :k]
    preds, margins = [], []
    for r in range(len(test)):
        votes = np.zeros(C)
        for j in idx[r]:
            votes[ytr[j]] += np.exp(sim[r, j] / T)
        # k-th vs (k+1)-th neighbour must be distinct so the neighbour set is unambiguous
        s = np.sort(sim[r])[::-1]
        assert s[k - 1] - s[k] > 1e-4, 'ambiguous neighbour set'
        top = np.sort(votes)[::-1]
        margins.append((top[0] - top[1]) / top[0])
        preds.append(int(np.argmax(votes)))
    assert min(margins) > 1e-3, f'vote margin too small: {min(margins)}'
    return preds


def linear_probe(train, ytr, test, C, steps, lr, l2):
    mean = train.mean(0)
    std = np.maximum(train.std(0), 1e-6)
    x = (train - mean) / std
    xt = (test - mean) / std
    n, d = x.shape
    y = np.eye(C)[ytr]
    W = np.zeros((d, C)); b = np.zeros(C)
    mW = np.zeros_like(W); vW = np.zeros_like(W); mb = np.zeros_like(b); vb = np.zeros_like(b)

    def forward(x):
        z = x @ W + b
        z = z - z.max(1, keepdims=True)
        p = np.exp(z); p /= p.sum(1, keepdims=True)
        return p

    for t in range(1, steps + 1):
        p = forward(x)
        gz = (p - y) / n
        gW = x.T @ gz + l2 * W
        gb = gz.sum(0)
        for g, m, v, par in ((gW, mW, vW, W), (gb, mb, vb, b)):
            m *= 0.9; m += 0.1 * g
            v *= 0.999; v += 0.001 * g * g
            par -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    p = forward(x)
    loss = float(-np.log(p[np.arange(n), ytr]).mean())
    zt = xt @ W + b
    s = np.sort(zt, axis=1)
    assert (s[:, -1] - s[:, -2]).min() > 1e-3, 'linear probe test margin too small'
    return {'train_loss': loss, 'train_pred': np.argmax(x @ W + b, 1).tolist(), 'test_pred': np.argmax(zt, 1).tolist()}


def main():
    rng = np.random.default_rng(12)
    C, D = 3, 6
    centres = rng.standard_normal((C, D)) * 1.2
    def draw(n):
        y = np.arange(n) % C
        return centres[y] + rng.standard_normal((n, D)) * 0.9 + 0.3, y
    train, ytr = draw(60)
    test, yte = draw(21)
    out = {
        'num_classes': C, 'dim': D,
        'train': train.ravel().tolist(), 'train_labels': ytr.tolist(),
        'test': test.ravel().tolist(), 'test_labels': yte.tolist(),
        'knn_k5_t01': knn(train, ytr, test, 5, 0.1, C),
        'knn_k20_t007': knn(train, ytr, test, 20, 0.07, C),
        'linear': linear_probe(train, ytr, test, C, 150, 0.05, 1e-3),
    }
    path = os.path.join(os.path.dirname(__file__), '..', 'src', '__fixtures__', 'probes.json')
    with open(path, 'w') as f:
        json.dump(out, f)
    print('wrote', os.path.normpath(path), 'knn acc', np.mean(np.array(out['knn_k20_t007']) == yte),
          'linear acc', np.mean(np.array(out['linear']['test_pred']) == yte))


if __name__ == '__main__':
    main()
