#!/usr/bin/env python3
"""Reference values for @epg/diffusion's sampler tests (numpy, float64).

Run from packages/diffusion:  python3 scripts/make_fixtures.py  -> src/__fixtures__/samplers.json

For data N(mu, s^2) the exact denoiser is D(x, sigma) = mu + s^2/(s^2 + sigma^2) (x - mu), so every sampler
step is linear in (x - mu): x_final - mu = g * (x_T - mu). This script runs EDM's Heun (Alg. 1/2,
deterministic) and Euler on that scalar ODE, written independently of the TypeScript code, and records g
next to the exact flow factor sqrt((s^2 + sigma_end^2) / (s^2 + sigma_T^2)).
"""
import json
import pathlib

import numpy as np


def karras(n, sigma_min=0.002, sigma_max=80.0, rho=7.0, shift=1.0):
    ramp = np.linspace(0, 1, n)
    return shift * (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def run(sigmas, s, heun):
    # Track y = x - mu; D(x) - mu = k(sigma) y with k = s^2 / (s^2 + sigma^2).
    k = lambda sig: s * s / (s * s + sig * sig)
    y = 1.0
    for t_cur, t_next in zip(sigmas[:-1], sigmas[1:]):
        d = (y - k(t_cur) * y) / t_cur
        y_next = y + (t_next - t_cur) * d
        if heun and t_next > 0:
            d2 = (y_next - k(t_next) * y_next) / t_next
            y_next = y + (t_next - t_cur) * (0.5 * d + 0.5 * d2)
        y = y_next
    return y


def main():
    s = 0.3
    out = {"s": s, "cases": []}
    for n, shift, heun in [(32, 4.0, True), (33, 4.0, True), (65, 4.0, True), (65, 4.0, False), (129, 4.0, False), (32, 1.0, True)]:
        g = karras(n, shift=shift)
        out["cases"].append({
            "sampler": "heun" if heun else "euler", "n": n, "shift": shift,
            "factor": run(g, s, heun),
            "exact": float(np.sqrt((s * s + g[-1] ** 2) / (s * s + g[0] ** 2))),
        })
    path = pathlib.Path(__file__).resolve().parent.parent / "src" / "__fixtures__" / "samplers.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")
    for c in out["cases"]:
        print(c, c["factor"] / c["exact"] - 1)


if __name__ == "__main__":
    main()
