#!/usr/bin/env python3
"""Reference values for @epg/schedules, computed with numpy the way the Python sources do.

Run from packages/schedules:  python3 scripts/make_fixtures.py
Writes src/__fixtures__/schedules.json (numpy 2.x). Each block names the source it mirrors.
"""
import json
import math
import pathlib

import numpy as np

SIGMA_MIN, SIGMA_MAX, RHO, SIGMA_DATA = 0.002, 80.0, 7.0, 0.5


def karras(n, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX, rho=RHO):
    # k-diffusion get_sigmas_karras / EDM eq. 5 (without append_zero), in float64.
    ramp = np.linspace(0, 1, n)
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (max_inv + ramp * (min_inv - max_inv)) ** rho


def icm_scale(step, K, start_scales, end_scales):
    # Verbatim from rRCM rrcm/utils.py create_ema_and_scales_fn.icm_scale.
    K_prime = np.ceil(K / np.log2(np.ceil(end_scales / start_scales) + 1))
    return int(min(start_scales * (2 ** np.ceil(step / K_prime)), end_scales) + 1), int(K_prime)


def ict_scale(step, K, s0, s1):
    # iCT (Song & Dhariwal 2023) eq. for N(k): floor form.
    K_prime = math.floor(K / (math.log2(math.floor(s1 / s0)) + 1))
    return int(min(s0 * 2 ** math.floor(step / K_prime), s1) + 1), int(K_prime)


def rrcm_ema(step, start_ema=0.99, end_ema=0.9999, A=10, ema_decay_steps=600000):
    # Verbatim from rRCM rrcm/utils.py, "sigmoid" target_ema_mode.
    ema = np.sqrt((step / ema_decay_steps) * (end_ema ** 2 - start_ema ** 2) + start_ema ** 2) if step < ema_decay_steps else end_ema
    c = 2 / (1 + np.exp(-A * ((ema - start_ema) / (end_ema - start_ema)))) - 1
    return float(c * end_ema + (1 - c) * start_ema)


def cosine_tau(step, tau_start=0.2, tau_end=0.1, S=600000):
    # EPG rcm/utils.py cosine_tau as described in docs/method.md Â§3.6.
    if step <= 2 * S / 3:
        return float(tau_start + tau_end * np.cos(np.pi / 2 * (1 + 1.5 * step / S)))
    return tau_end


def interp_tau(sigma, tau1, tau2):
    return float(tau1 * (SIGMA_MAX - sigma) / (SIGMA_MAX - SIGMA_MIN) + tau2 * (sigma - SIGMA_MIN) / (SIGMA_MAX - SIGMA_MIN))


def boundary(sigma, sigma_min):
    # openai consistency_models get_scalings_for_boundary_condition.
    c_skip = SIGMA_DATA ** 2 / ((sigma - sigma_min) ** 2 + SIGMA_DATA ** 2)
    c_out = (sigma - sigma_min) * SIGMA_DATA / (sigma ** 2 + SIGMA_DATA ** 2) ** 0.5
    c_in = 1 / (sigma ** 2 + SIGMA_DATA ** 2) ** 0.5
    return [c_skip, c_out, c_in]


def ect_pair(z, step, p_mean=-0.4, p_std=1.6, q=2.0, k=8.0, b=1.0, d=100000):
    # ECT lognormal t, r = t * (1 - q^-stage (1 + k sigmoid(-b t))), clipped at sigma_min.
    stage = step // d + 1
    t = max(np.exp(p_mean + p_std * z), SIGMA_MIN)
    sig = 1 / (1 + np.exp(b * t))
    r = max(t * (1 - q ** (-stage) * (1 + k * sig)), SIGMA_MIN)
    return [float(t), float(r)]


def main():
    out = {}
    out["karras"] = {str(n): karras(n).tolist() for n in (2, 18, 32)}
    g1280 = karras(1280)
    out["karras1280_selected"] = {str(i): float(g1280[i]) for i in (0, 1, 100, 639, 640, 1000, 1278, 1279)}
    # Extrapolated sigma_N and DM weights w_j = 1/(sigma_j - sigma_{j+1}).
    n = 1280
    min_inv, max_inv = SIGMA_MIN ** (1 / RHO), SIGMA_MAX ** (1 / RHO)
    sigma_n = (max_inv + n / (n - 1) * (min_inv - max_inv)) ** RHO
    ext = np.append(g1280, sigma_n)
    w = 1 / (ext[:-1] - ext[1:])
    out["dm_weights_1280"] = {"sigma_n": float(sigma_n), "selected": {str(j): float(w[j]) for j in (0, 1, 100, 640, 1000, 1278, 1279)}}

    curricula = {
        "epg": dict(K=600000, s0=20, s1=1280),
        "rrcm_imagenet": dict(K=600000, s0=20, s1=80),
        "rrcm_cifar": dict(K=300000, s0=20, s1=80),
    }
    cur = {}
    for name, c in curricula.items():
        _, Kp = icm_scale(0, c["K"], c["s0"], c["s1"])
        steps = sorted({0, 1, 2} | {m * Kp + e for m in range(1, 8) for e in (0, 1)} | {c["K"] - 1, c["K"], c["K"] + 1000})
        cur[name] = {"K": c["K"], "s0": c["s0"], "s1": c["s1"], "K_prime": Kp,
                     "values": [[s, icm_scale(s, c["K"], c["s0"], c["s1"])[0]] for s in steps]}
    out["icm"] = cur
    ict = {}
    for name, c in {"ict_cifar": dict(K=400000, s0=10, s1=1280), "ict_300k_20_80": dict(K=300000, s0=20, s1=80)}.items():
        _, Kp = ict_scale(0, c["K"], c["s0"], c["s1"])
        steps = sorted({0, 1} | {m * Kp + e for m in range(1, 9) for e in (-1, 0)} | {c["K"]})
        ict[name] = {"K": c["K"], "s0": c["s0"], "s1": c["s1"], "K_prime": Kp,
                     "values": [[s, ict_scale(s, c["K"], c["s0"], c["s1"])[0]] for s in steps]}
    out["ict"] = ict

    out["rrcm_ema"] = [[s, rrcm_ema(s)] for s in (0, 1, 1000, 60000, 300000, 599999, 600000, 700000)]
    out["rrcm_ema_cifar"] = [[s, rrcm_ema(s, A=15, ema_decay_steps=300000)] for s in (0, 150000, 300000)]
    out["cosine_tau"] = [[s, cosine_tau(s)] for s in (0, 1, 100000, 300000, 399999, 400000, 400001, 600000)]
    out["interp_tau"] = [[s, k, interp_tau(s, 0.1, cosine_tau(k))] for s in (0.002, 0.5, 1.0, 40.0, 80.0) for k in (0, 200000)]

    sigmas = [0.002, 0.008, 0.1, 0.5, 1.0, 4.0, 80.0, 320.0]
    out["edm"] = [[s, SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2), s * SIGMA_DATA / math.sqrt(s ** 2 + SIGMA_DATA ** 2),
                   1 / math.sqrt(s ** 2 + SIGMA_DATA ** 2), math.log(s) / 4, 250 * math.log(s),
                   (s ** 2 + SIGMA_DATA ** 2) / (s * SIGMA_DATA) ** 2] for s in sigmas]
    out["boundary"] = [[s, sm] + boundary(s, sm) for s in sigmas for sm in (0.002, 0.008) if s >= sm]

    # Lognormal(-1.2, 1.6) snapped to the 1280 grid: argmin |grid - sigma| (numpy: first index on ties).
    zs = [-3.0, -1.5, -0.5, 0.0, 0.3, 1.0, 2.2, 3.5, 5.0, -5.0]
    snaps = []
    for z in zs:
        s = float(np.exp(-1.2 + 1.6 * z))
        snaps.append([z, s, int(np.argmin(np.abs(g1280 - s)))])
    out["lognormal_snap"] = snaps

    out["ect"] = [[z, step] + ect_pair(z, step) for z in (-4.0, -1.0, 0.0, 0.5, 2.0) for step in (0, 99999, 100000, 350000)]

    g32 = karras(32) * 4
    out["guidance_32_256"] = [i for i in range(32) if 0.19 * 4 < g32[i] <= 1.61 * 4]

    path = pathlib.Path(__file__).resolve().parent.parent / "src" / "__fixtures__" / "schedules.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
