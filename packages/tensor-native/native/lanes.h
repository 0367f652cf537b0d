/*
 * Row reductions in float with LANES independent partial sums, combined pairwise at the end. A plain
 * `s += x[i]` loop is one serial chain of dependent adds (the compiler may not reorder float sums),
 * ≈ 4 cycles per element; split into lanes it vectorises. The order is fixed, so results are
 * deterministic, and the pairwise combination rounds no worse than the serial sum.
 * Shared by kernels.c and fused_transformer.c; everything is static inline.
 */
#ifndef EPG_LANES_H
#define EPG_LANES_H

#include <stdint.h>

#define LANES 32

static inline float lanes_combine(float *acc) {
  for (int w = LANES / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) acc[l] += acc[l + w];
  return acc[0];
}

/* Σ x[i] */
static inline float sum_lanes(const float *x, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
  float t = lanes_combine(acc);
  for (; i < n; i++) t += x[i];
  return t;
}

/* Σ (x[i] − mu)² */
static inline float sq_dev_lanes(const float *x, float mu, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) {
      float d = x[i + l] - mu;
      acc[l] += d * d;
    }
  float t = lanes_combine(acc);
  for (; i < n; i++) t += (x[i] - mu) * (x[i] - mu);
  return t;
}

/* Σ a[i]·b[i] */
static inline float dot_lanes(const float *a, const float *b, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
  float t = lanes_combine(acc);
  for (; i < n; i++) t += a[i] * b[i];
  return t;
}

#endif /* EPG_LANES_H */
