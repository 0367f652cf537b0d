/*
 * Native float32 kernels for the TensorFlow.js cpu backend (@epg/tensor-native).
 *
 * Every function takes Float32Arrays that the JS side allocated (inputs and outputs), plus sizes,
 * and returns nothing: no allocation crosses the N-API boundary. GEMM goes to OpenBLAS
 * (cblas_sgemm); the memory-bound elementwise, reduction, transpose, softmax and fused LayerNorm /
 * GELU loops are plain C that GCC vectorises. On x86-64 Linux the hot loops are compiled three
 * times (x86-64, x86-64-v3 = AVX2+FMA, x86-64-v4 = AVX-512) and the loader picks the best one the
 * CPU supports, so the binary never assumes more than baseline x86-64 (never -march=native).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include <cblas.h>
#include "napi_args.h"
#include "winograd.h"
#include "lanes.h"

/* OpenBLAS extras (declared in its cblas.h, repeated here so other CBLAS headers also work). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);


/* ------------------------------------------------------------------------------------------ */
/* Scalar math that vectorises: exp (Cephes expf, ~1 ulp) and erf (Abramowitz & Stegun 7.1.26, */
/* the same formula and constants as tfjs's Erf kernel, so results agree with the stock kernel). */

static inline float exp_f(float x) {
  /* Clamp to where the result is +inf (n = 128) or 0 (n <= -151), then scale by 2^n in two steps
     so that results in the subnormal range come out right. */
  x = x > 89.0f ? 89.0f : x;
  x = x < -104.0f ? -104.0f : x;
  float n = rintf(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  int32_t ni = (int32_t)n;
  int32_t n1 = ni / 2, n2 = ni - n1;
  int32_t e1 = (n1 + 127) << 23, e2 = (n2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &e1, sizeof s1);
  memcpy(&s2, &e2, sizeof s2);
  return p * s1 * s2;
}

#define ERF_P 0.3275911f
#define ERF_A1 0.254829592f
#define ERF_A2 -0.284496736f
#define ERF_A3 1.421413741f
#define ERF_A4 -1.453152027f
#define ERF_A5 1.061405429f

static inline float erf_f(float v) {
  float a = fabsf(v);
  float t = 1.0f / (1.0f + ERF_P * a);
  float y = 1.0f - (((((ERF_A5 * t + ERF_A4) * t) + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * exp_f(-a * a);
  return v < 0.0f ? -y : y;
}

#define SQRT1_2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f
#define TWO_OVER_SQRT_PI 1.12837916709551257f

/* ------------------------------------------------------------------------------------------ */
/* Kernels on raw pointers.                                                                   */

enum BinaryOp { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_POW };

#define BINARY_LOOP(EXPR)                                         \
  if (sa == 1 && sb == 1) {                                       \
    for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
  } else if (sa == 1 && sb == 0) {                                \
    float y = b[0];                                               \
    for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); } \
  } else if (sa == 0 && sb == 1) {                                \
    float x = a[0];                                               \
    for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); } \
  } else {                                                        \
    for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i] = (EXPR); } \
  }

/* One contiguous output run of n elements; a and b advance by sa, sb (0 = broadcast, 1 = dense). */
HOT static void binary_run(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {
  switch (op) {
    case B_ADD: BINARY_LOOP(x + y); break;
    case B_SUB: BINARY_LOOP(x - y); break;
    case B_MUL: BINARY_LOOP(x * y); break;
    case B_DIV: BINARY_LOOP(x / y); break;
    case B_MAX: BINARY_LOOP((x > y || x != x) ? x : y); break;
    case B_MIN: BINARY_LOOP((x < y || x != x) ? x : y); break;
    case B_SQDIFF: BINARY_LOOP((x - y) * (x - y)); break;
    case B_POW: BINARY_LOOP(powf(x, y)); break;
    default: break;
  }
}

/*
 * Broadcasting binary op. shape/sa/sb have `rank` entries (output shape, element strides of a and
 * b with 0 on broadcast axes), already collapsed by the caller so that the last axis is the run.
 */
static void binary_nd(int op, const float *a, const float *b, float *o, int rank, const int64_t *shape,
                      const int64_t *sa, const int64_t *sb) {
  if (rank == 0) { binary_run(op, a, 0, b, 0, o, 1); return; }
  int64_t inner = shape[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
  int64_t idx[8] = {0};
  int64_t offa = 0, offb = 0;
  for (int64_t r = 0; r < outer; r++) {
    binary_run(op, a + offa, sa[rank - 1], b + offb, sb[rank - 1], o + r * inner, inner);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      offa += sa[d];
      offb += sb[d];
      if (idx[d] < shape[d]) break;
      offa -= sa[d] * shape[d];
      offb -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

enum UnaryOp { U_NEG = 0, U_SQUARE, U_RSQRT, U_SQRT, U_EXP, U_LOG, U_ERF, U_RECIPROCAL, U_ABS, U_RELU, U_SIGMOID, U_TANH, U_GELU };

HOT static void unary(int op, const float *x, float *o, int64_t n) {
  switch (op) {
    case U_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case U_SQUARE: for (int64_t i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case U_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / sqrtf(x[i]); break;
    case U_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case U_EXP: for (int64_t i = 0; i < n; i++) o[i] = exp_f(x[i]); break;
    case U_LOG: for (int64_t i = 0; i < n; i++) o[i] = logf(x[i]); break;
    case U_ERF: for (int64_t i = 0; i < n; i++) o[i] = erf_f(x[i]); break;
    case U_RECIPROCAL: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / x[i]; break;
    case U_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case U_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f); break;
    case U_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / (1.0f + exp_f(-x[i])); break;
    case U_TANH: for (int64_t i = 0; i < n; i++) o[i] = tanhf(x[i]); break;
    case U_GELU: for (int64_t i = 0; i < n; i++) o[i] = 0.5f * x[i] * (1.0f + erf_f(x[i] * SQRT1_2)); break;
    default: break;
  }
}

/* d/dx of erf times dy, in one pass (the stock gradient is square, neg, exp, mul, mul). */
HOT static void erf_grad(const float *x, const float *dy, float *o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = dy[i] * TWO_OVER_SQRT_PI * exp_f(-x[i] * x[i]);
}

/* Exact GELU derivative: Φ(x) + x φ(x), times dy. */
HOT static void gelu_grad(const float *x, const float *dy, float *o, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    float cdf = 0.5f * (1.0f + erf_f(v * SQRT1_2));
    float pdf = INV_SQRT_2PI * exp_f(-0.5f * v * v);
    o[i] = dy[i] * (cdf + v * pdf);
  }
}

enum ReduceOp { R_SUM = 0, R_MEAN, R_MAX, R_MIN, R_PROD };

/* x viewed as [outer, red, inner]; out [outer, inner]. Sums accumulate in double, like tfjs's JS loops. */
HOT static void reduce_mid(int op, const float *x, float *o, int64_t outer, int64_t red, int64_t inner, double *acc) {
  for (int64_t p = 0; p < outer; p++) {
    const float *xp = x + p * red * inner;
    float *op_ = o + p * inner;
    if (inner == 1) {
      if (op == R_SUM || op == R_MEAN) {
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t r = 0;
        for (; r + 8 <= red; r += 8)
          for (int l = 0; l < 8; l++) s[l] += (double)xp[r + l];
        double tot = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; r < red; r++) tot += (double)xp[r];
        op_[0] = (float)(op == R_MEAN ? tot / (double)red : tot);
      } else if (op == R_MAX || op == R_MIN) {
        float m = xp[0];
        int nan = 0;
        for (int64_t r = 0; r < red; r++) {
          float v = xp[r];
          if (v != v) nan = 1;
          m = op == R_MAX ? (v > m ? v : m) : (v < m ? v : m);
        }
        op_[0] = nan ? NAN : m;
      } else {
        double s = 1.0;
        for (int64_t r = 0; r < red; r++) s *= (double)xp[r];
        op_[0] = (float)s;
      }
      continue;
    }
    if (op == R_SUM || op == R_MEAN) {
      for (int64_t j = 0; j < inner; j++) acc[j] = 0.0;
      for (int64_t r = 0; r < red; r++) {
        const float *row = xp + r * inner;
        for (int64_t j = 0; j < inner; j++) acc[j] += (double)row[j];
      }
      double scale = op == R_MEAN ? 1.0 / (double)red : 1.0;
      if (op == R_MEAN) {
        for (int64_t j = 0; j < inner; j++) op_[j] = (float)(acc[j] / (double)red);
      } else {
        for (int64_t j = 0; j < inner; j++) op_[j] = (float)(acc[j] * scale);
      }
    } else if (op == R_MAX || op == R_MIN) {
      for (int64_t j = 0; j < inner; j++) op_[j] = xp[j];
      for (int64_t r = 1; r < red; r++) {
        const float *row = xp + r * inner;
        if (op == R_MAX) {
          for (int64_t j = 0; j < inner; j++) op_[j] = (row[j] > op_[j] || row[j] != row[j]) ? row[j] : op_[j];
        } else {
          for (int64_t j = 0; j < inner; j++) op_[j] = (row[j] < op_[j] || row[j] != row[j]) ? row[j] : op_[j];
        }
      }
    } else {
      for (int64_t j = 0; j < inner; j++) acc[j] = 1.0;
      for (int64_t r = 0; r < red; r++) {
        const float *row = xp + r * inner;
        for (int64_t j = 0; j < inner; j++) acc[j] *= (double)row[j];
      }
      for (int64_t j = 0; j < inner; j++) op_[j] = (float)acc[j];
    }
  }
}

/* Softmax over the last axis of [rows, cols]. */
HOT static void softmax_rows(const float *x, float *o, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *orow = o + r * cols;
    float m = xr[0];
    for (int64_t c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
    for (int64_t c = 0; c < cols; c++) orow[c] = exp_f(xr[c] - m);
    float inv = 1.0f / sum_lanes(orow, cols);
    for (int64_t c = 0; c < cols; c++) orow[c] *= inv;
  }
}

/* Softmax gradient: dx = y * (dy - sum(dy * y)) per row, in one pass over each row. */
HOT static void softmax_grad_rows(const float *y, const float *dy, float *o, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y + r * cols, *dr = dy + r * cols;
    float *orow = o + r * cols;
    float s = dot_lanes(yr, dr, cols);
    for (int64_t c = 0; c < cols; c++) orow[c] = yr[c] * (dr[c] - s);
  }
}

/*
 * LayerNorm over the last axis: y = (x - mean) * rstd * gamma + beta, saving mean and rstd per row
 * for the backward pass (Ba et al. 2016, "Layer Normalization"; the biased variance, as in PyTorch).
 */
HOT static void layer_norm(const float *x, const float *gamma, const float *beta, float *y, float *mean_out,
                           float *rstd_out, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float mu = sum_lanes(xr, cols) / (float)cols;
    float rstd = 1.0f / sqrtf(sq_dev_lanes(xr, mu, cols) / (float)cols + eps);
    if (gamma && beta) {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rstd * gamma[c] + beta[c];
    } else if (gamma) {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rstd * gamma[c];
    } else {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rstd;
    }
    mean_out[r] = mu;
    rstd_out[r] = rstd;
  }
}

/*
 * LayerNorm backward. With xhat = (x - mean) rstd and g = dy * gamma:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dgamma = sum_rows(dy * xhat),  dbeta = sum_rows(dy).
 * dgamma/dbeta accumulate in double (acc: 2*cols doubles) and may be NULL when not wanted.
 */
HOT static void layer_norm_grad(const float *x, const float *gamma, const float *mean, const float *rstd,
                                const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t cols,
                                double *acc, float *tmp) {
  double *ag = acc, *ab = acc + cols;
  for (int64_t c = 0; c < 2 * cols; c++) acc[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols, *dr = dy + r * cols;
    float *dxr = dx + r * cols;
    float mu = mean[r], rs = rstd[r];
    /* tmp = x̂ and, after it, g = dy·γ (or dy itself) */
    float *gr = tmp + cols;
    for (int64_t c = 0; c < cols; c++) tmp[c] = (xr[c] - mu) * rs;
    if (gamma) for (int64_t c = 0; c < cols; c++) gr[c] = dr[c] * gamma[c];
    else gr = (float *)dr;
    float mg = sum_lanes(gr, cols) / (float)cols, mgx = dot_lanes(gr, tmp, cols) / (float)cols;
    if (gamma) {
      for (int64_t c = 0; c < cols; c++) dxr[c] = rs * (dr[c] * gamma[c] - mg - tmp[c] * mgx);
    } else {
      for (int64_t c = 0; c < cols; c++) dxr[c] = rs * (dr[c] - mg - tmp[c] * mgx);
    }
    for (int64_t c = 0; c < cols; c++) {
      ag[c] += (double)(dr[c] * tmp[c]);
      ab[c] += (double)dr[c];
    }
  }
  if (dgamma) for (int64_t c = 0; c < cols; c++) dgamma[c] = (float)ag[c];
  if (dbeta) for (int64_t c = 0; c < cols; c++) dbeta[c] = (float)ab[c];
}

/*
 * Multi-head self-attention straight from the packed qkv projection, with no head transposes:
 * qkv is [B*T, 3*D] with columns (q|k|v, head, head_dim), out is [B*T, D] with columns (head,
 * head_dim), P saves the softmax probabilities [B, H, T, T] for the backward pass. Each head's
 * Q, K, V are strided views (leading dimension 3*D) handed to GEMM as they lie
 * (Vaswani et al. 2017: softmax(Q Kᵀ · scale) V).
 */
static void attention_fwd(const float *qkv, float *out, float *P, int64_t B, int64_t T, int64_t H, int64_t dh,
                          float scale) {
  int64_t D = H * dh, ld = 3 * D;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++) {
      const float *Q = qkv + b * T * ld + h * dh, *K = Q + D, *V = Q + 2 * D;
      float *S = P + (b * H + h) * T * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, scale, Q, (int)ld, K, (int)ld,
                  0.0f, S, (int)T);
      softmax_rows(S, S, T, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, S, (int)T, V, (int)ld,
                  0.0f, out + b * T * D + h * dh, (int)D);
    }
}

/* Backward of attention_fwd: dqkv [B*T, 3*D] from dout [B*T, D]; tmp holds T*T floats. */
static void attention_bwd(const float *qkv, const float *P, const float *dout, float *dqkv, float *tmp, int64_t B,
                          int64_t T, int64_t H, int64_t dh, float scale) {
  int64_t D = H * dh, ld = 3 * D;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++) {
      const float *Q = qkv + b * T * ld + h * dh, *K = Q + D, *V = Q + 2 * D;
      const float *S = P + (b * H + h) * T * T;
      const float *dO = dout + b * T * D + h * dh;
      float *dQ = dqkv + b * T * ld + h * dh, *dK = dQ + D, *dV = dQ + 2 * D;
      /* dP = dO Vᵀ, then dS = P ⊙ (dP - rowsum(P ⊙ dP)) in place. */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, 1.0f, dO, (int)D, V, (int)ld, 0.0f,
                  tmp, (int)T);
      softmax_grad_rows(S, tmp, tmp, T, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, scale, tmp, (int)T, K, (int)ld,
                  0.0f, dQ, (int)ld);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, scale, tmp, (int)T, Q, (int)ld,
                  0.0f, dK, (int)ld);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, S, (int)T, dO, (int)D, 0.0f,
                  dV, (int)ld);
    }
}

/* Transpose of a tensor already collapsed to `rank` dims (shape of x, perm as in tf.transpose). */
HOT static void transpose_nd(const float *x, float *o, int rank, const int64_t *shape, const int *perm) {
  int64_t xstride[8];
  xstride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) xstride[d] = xstride[d + 1] * shape[d + 1];
  int64_t oshape[8], ostride_in[8];
  for (int d = 0; d < rank; d++) { oshape[d] = shape[perm[d]]; ostride_in[d] = xstride[perm[d]]; }
  int64_t inner = oshape[rank - 1], sin = ostride_in[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= oshape[d];
  /* 2-D case (the common [a,b] -> [b,a] after collapsing): cache-blocked. */
  if (rank == 2) {
    int64_t R = shape[0], C = shape[1];
    const int64_t BS = 32;
    for (int64_t i0 = 0; i0 < R; i0 += BS)
      for (int64_t j0 = 0; j0 < C; j0 += BS) {
        int64_t i1 = i0 + BS < R ? i0 + BS : R, j1 = j0 + BS < C ? j0 + BS : C;
        for (int64_t j = j0; j < j1; j++)
          for (int64_t i = i0; i < i1; i++) o[j * R + i] = x[i * C + j];
      }
    return;
  }
  int64_t idx[8] = {0};
  int64_t off = 0;
  for (int64_t r = 0; r < outer; r++) {
    float *orow = o + r * inner;
    const float *xs = x + off;
    if (sin == 1) memcpy(orow, xs, (size_t)inner * sizeof(float));
    else for (int64_t i = 0; i < inner; i++) orow[i] = xs[i * sin];
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += ostride_in[d];
      if (idx[d] < oshape[d]) break;
      off -= ostride_in[d] * oshape[d];
      idx[d] = 0;
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Convolution (NHWC input, HWIO filter) through im2col / col2im and cblas_sgemm, and 2-D       */
/* max / average pooling with their gradients. Geometry comes from tfjs's computeConv2DInfo /   */
/* computePool2DInfo on the JS side, so padding ('same', 'valid', explicit) and output sizes    */
/* are exactly the stock kernels'.                                                              */


/* Output rows (of B*OH*OW) per im2col block: about 64K floats (256 KB) of columns, at least 192 rows:
   the columns are still in cache when the GEMM reads them. 8 MB blocks measured ≈ 18 % slower on
   four of Inception's convolutions (docs/performance.md, round 2). */
static int64_t conv_block_rows(const ConvGeom *g) {
  int64_t k = g->KH * g->KW * g->C;
  int64_t rows = ((int64_t)1 << 16) / (k > 0 ? k : 1);
  if (rows < 192) rows = 192;
  int64_t total = g->B * g->OH * g->OW;
  return rows < total ? rows : total;
}

/* Whether the convolution is a plain GEMM: 1×1 filter, stride 1, no padding. */
static int conv_is_pointwise(const ConvGeom *g) {
  return g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->OH == g->H &&
         g->OW == g->W;
}

/* Columns for output rows r0..r0+n: col[i, (ky, kx, c)] = x[b, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c] or 0. */
static void im2col_rows(const float *x, float *col, const ConvGeom *g, int64_t r0, int64_t n) {
  int64_t C = g->C, K = g->KH * g->KW * C;
  for (int64_t i = 0; i < n; i++) {
    int64_t r = r0 + i;
    int64_t ox = r % g->OW, t = r / g->OW, oy = t % g->OH, b = t / g->OH;
    float *dst = col + i * K;
    const float *xb = x + b * g->H * g->W * C;
    for (int64_t ky = 0; ky < g->KH; ky++) {
      int64_t iy = oy * g->sh - g->pt + ky * g->dh;
      if (iy < 0 || iy >= g->H) {
        memset(dst, 0, (size_t)(g->KW * C) * sizeof(float));
        dst += g->KW * C;
        continue;
      }
      for (int64_t kx = 0; kx < g->KW; kx++, dst += C) {
        int64_t ix = ox * g->sw - g->pl + kx * g->dw;
        if (ix < 0 || ix >= g->W) memset(dst, 0, (size_t)C * sizeof(float));
        else if (C == 1) dst[0] = xb[iy * g->W + ix];
        else memcpy(dst, xb + (iy * g->W + ix) * C, (size_t)C * sizeof(float));
      }
    }
  }
}

/* Adds column gradients of output rows r0..r0+n back into dx (the adjoint of im2col_rows). */
HOT static void col2im_rows(const float *col, float *dx, const ConvGeom *g, int64_t r0, int64_t n) {
  int64_t C = g->C, K = g->KH * g->KW * C;
  for (int64_t i = 0; i < n; i++) {
    int64_t r = r0 + i;
    int64_t ox = r % g->OW, t = r / g->OW, oy = t % g->OH, b = t / g->OH;
    const float *src = col + i * K;
    float *xb = dx + b * g->H * g->W * C;
    for (int64_t ky = 0; ky < g->KH; ky++) {
      int64_t iy = oy * g->sh - g->pt + ky * g->dh;
      if (iy < 0 || iy >= g->H) { src += g->KW * C; continue; }
      for (int64_t kx = 0; kx < g->KW; kx++, src += C) {
        int64_t ix = ox * g->sw - g->pl + kx * g->dw;
        if (ix < 0 || ix >= g->W) continue;
        float *d = xb + (iy * g->W + ix) * C;
        for (int64_t c = 0; c < C; c++) d[c] += src[c];
      }
    }
  }
}

HOT static void relu_inplace(float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : (y[i] != y[i] ? y[i] : 0.0f);
}

/* 1: 3×3 stride-1 convolutions and their input gradients go through Winograd F(4×4, 3×3) (winograd.c);
   0: everything through im2col (bit-compatible with earlier releases). Set by convAlgorithm(). */
static int conv_winograd = 1;

/* The input gradient of a stride-1 3×3 convolution as a convolution of dy (winograd_conv3x3, transposed). */
static ConvGeom conv_transposed_geom(const ConvGeom *g) {
  ConvGeom t = *g;
  t.H = g->OH, t.W = g->OW, t.C = g->O, t.O = g->C;
  t.pt = g->KH - 1 - g->pt, t.pl = g->KW - 1 - g->pl;
  t.OH = g->H, t.OW = g->W;
  return t;
}

/* y[B*OH*OW, O] = im2col(x) · w[K, O] (+ bias, then ReLU when relu). col: block_rows*K floats. */
static void conv2d_fwd(const float *x, const float *w, const float *bias, int relu, float *y, const ConvGeom *g,
                       float *col) {
  if (conv_winograd && winograd_eligible(g) && winograd_conv3x3(x, w, bias, relu, y, g, 0)) return;
  int64_t K = g->KH * g->KW * g->C, O = g->O, total = g->B * g->OH * g->OW;
  int64_t block = conv_is_pointwise(g) ? total : conv_block_rows(g);
  for (int64_t r0 = 0; r0 < total; r0 += block) {
    int64_t n = total - r0 < block ? total - r0 : block;
    const float *a = x + r0 * K;
    if (!conv_is_pointwise(g)) {
      im2col_rows(x, col, g, r0, n);
      a = col;
    }
    float *yb = y + r0 * O;
    if (bias) for (int64_t i = 0; i < n; i++) memcpy(yb + i * O, bias, (size_t)O * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)O, (int)K, 1.0f, a, (int)K, w, (int)O,
                bias ? 1.0f : 0.0f, yb, (int)O);
    if (relu) relu_inplace(yb, n * O);
  }
}

/* dx[B, H, W, C] = col2im(dy · wᵀ). col: block_rows*K floats. */
static void conv2d_bwd_input(const float *dy, const float *w, float *dx, const ConvGeom *g, float *col) {
  int64_t K = g->KH * g->KW * g->C, O = g->O, total = g->B * g->OH * g->OW;
  if (conv_is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)total, (int)K, (int)O, 1.0f, dy, (int)O, w, (int)O, 0.0f,
                dx, (int)K);
    return;
  }
  if (conv_winograd && winograd_eligible(g)) {
    ConvGeom t = conv_transposed_geom(g);
    if (winograd_eligible(&t) && winograd_conv3x3(dy, w, NULL, 0, dx, &t, 1)) return;
  }
  memset(dx, 0, (size_t)(g->B * g->H * g->W * g->C) * sizeof(float));
  int64_t block = conv_block_rows(g);
  for (int64_t r0 = 0; r0 < total; r0 += block) {
    int64_t n = total - r0 < block ? total - r0 : block;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)O, 1.0f, dy + r0 * O, (int)O, w, (int)O,
                0.0f, col, (int)K);
    col2im_rows(col, dx, g, r0, n);
  }
}

/* dw[K, O] = Σ_blocks im2col(x)ᵀ · dy. col: block_rows*K floats. */
static void conv2d_bwd_filter(const float *x, const float *dy, float *dw, const ConvGeom *g, float *col) {
  int64_t K = g->KH * g->KW * g->C, O = g->O, total = g->B * g->OH * g->OW;
  int pointwise = conv_is_pointwise(g);
  int64_t block = pointwise ? total : conv_block_rows(g);
  for (int64_t r0 = 0; r0 < total; r0 += block) {
    int64_t n = total - r0 < block ? total - r0 : block;
    const float *a = x + r0 * K;
    if (!pointwise) {
      im2col_rows(x, col, g, r0, n);
      a = col;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)O, (int)n, 1.0f, a, (int)K, dy + r0 * O, (int)O,
                r0 == 0 ? 0.0f : 1.0f, dw, (int)O);
  }
  if (total == 0) memset(dw, 0, (size_t)(K * O) * sizeof(float));
}

/*
 * Pooling over NHWC windows (filter KH×KW, strides, dilation, top/left padding), vectorised over
 * channels. Semantics of tfjs's cpu kernels: max takes the first strictly greater value in window
 * scan order (NaN never wins; an all-NaN window gives −inf) and its gradient goes to that position
 * only; average divides by the number of in-bounds positions, while its gradient (AvgPoolGrad)
 * spreads dy / (KH·KW) over the in-bounds positions, as tfjs's does.
 */
HOT static void max_pool_fwd(const float *x, float *y, const ConvGeom *g) {
  int64_t C = g->C;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        float *yr = y + ((b * g->OH + oy) * g->OW + ox) * C;
        for (int64_t c = 0; c < C; c++) yr[c] = -INFINITY;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            const float *xr = x + ((b * g->H + iy) * g->W + ix) * C;
            for (int64_t c = 0; c < C; c++) yr[c] = xr[c] > yr[c] ? xr[c] : yr[c];
          }
        }
      }
}

/*
 * dx = dy routed to the first maximum of each window, found as the first in-bounds x equal to the
 * forward output y (y = −inf means no maximum: tfjs then routes nothing). Branch-free over channels:
 * rem[c] is 1 until the window's maximum has been met. rem: C floats of scratch.
 */
HOT static void max_pool_bwd(const float *x, const float *y, const float *dy, float *dx, const ConvGeom *g, float *rem) {
  int64_t C = g->C;
  memset(dx, 0, (size_t)(g->B * g->H * g->W * C) * sizeof(float));
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        int64_t o = ((b * g->OH + oy) * g->OW + ox) * C;
        const float *yr = y + o, *dyr = dy + o;
        for (int64_t c = 0; c < C; c++) rem[c] = yr[c] > -INFINITY ? 1.0f : 0.0f;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            int64_t off = ((b * g->H + iy) * g->W + ix) * C;
            const float *xr = x + off;
            float *d = dx + off;
            for (int64_t c = 0; c < C; c++) {
              float hit = xr[c] == yr[c] ? rem[c] : 0.0f;
              d[c] += dyr[c] * hit;
              rem[c] -= hit;
            }
          }
        }
      }
}

HOT static void avg_pool_fwd(const float *x, float *y, const ConvGeom *g) {
  int64_t C = g->C;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        float *yr = y + ((b * g->OH + oy) * g->OW + ox) * C;
        for (int64_t c = 0; c < C; c++) yr[c] = 0.0f;
        int64_t count = 0;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            const float *xr = x + ((b * g->H + iy) * g->W + ix) * C;
            for (int64_t c = 0; c < C; c++) yr[c] += xr[c];
            count++;
          }
        }
        float inv = 1.0f / (float)count;
        for (int64_t c = 0; c < C; c++) yr[c] = count > 0 ? yr[c] * inv : NAN;
      }
}

HOT static void avg_pool_bwd(const float *dy, float *dx, const ConvGeom *g) {
  int64_t C = g->C;
  float scale = 1.0f / (float)(g->KH * g->KW);
  memset(dx, 0, (size_t)(g->B * g->H * g->W * C) * sizeof(float));
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        const float *dyr = dy + ((b * g->OH + oy) * g->OW + ox) * C;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            float *d = dx + ((b * g->H + iy) * g->W + ix) * C;
            for (int64_t c = 0; c < C; c++) d[c] += dyr[c] * scale;
          }
        }
      }
}

/*
 * One AdamW update (Loshchilov & Hutter 2019) in one pass, as @epg/tensor's AdamW composes it:
 *   m' = β1 m + (1−β1) g,  v' = β2 v + (1−β2) g²,
 *   p' = p·(1 − lr·wd) − (m' / (√v' / √bc2 + ε)) · lr / bc1.
 */
HOT static void adamw_update(const float *p, const float *g, const float *m, const float *v, float *po, float *mo,
                             float *vo, int64_t n, float lr, float b1, float b2, float eps, float wd, float bc1,
                             float bc2) {
  float decay = 1.0f - lr * wd, step = lr / bc1, inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * (gi * gi);
    float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
    po[i] = (wd != 0.0f ? p[i] * decay : p[i]) - (mi / denom) * step;
    mo[i] = mi;
    vo[i] = vi;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* N-API glue.                                                                                */

/*
 * gemm(transA, transB, M, N, K, A, B, C, aOffsets, bOffsets, bias|null, beta)
 * For each batch i: C[i] (M×N) = op(A at aOffsets[i]) · op(B at bOffsets[i]) (+ bias row / + beta*C).
 */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  ARGS(12);
  bool ta = get_bool(env, argv[0]), tb = get_bool(env, argv[1]);
  int64_t M = get_i64(env, argv[2]), N = get_i64(env, argv[3]), K = get_i64(env, argv[4]);
  F32(5, A, lenA);
  F32(6, B, lenB);
  F32(7, C, lenC);
  int32_t *ao, *bo;
  size_t na, nb;
  if (!get_i32arr(env, argv[8], &ao, &na) || !get_i32arr(env, argv[9], &bo, &nb) || na != nb) {
    napi_throw_type_error(env, NULL, "epg_tensor_native: gemm offsets must be Int32Arrays of equal length");
    return NULL;
  }
  F32(10, bias, lenBias);
  float beta = (float)get_f64(env, argv[11]);
  int64_t batch = (int64_t)na;
  NEED((int64_t)lenC >= batch * M * N);
  NEED(bias == NULL || (int64_t)lenBias == N);
  for (int64_t i = 0; i < batch; i++) {
    NEED(ao[i] >= 0 && (int64_t)ao[i] + M * K <= (int64_t)lenA);
    NEED(bo[i] >= 0 && (int64_t)bo[i] + K * N <= (int64_t)lenB);
  }
  if (M == 0 || N == 0) return NULL;
  /* Row blocks of about 3 MB of C: a product with a large output written in one call into fresh
     memory ran at 96 instead of 123 GFLOP/s (M=4224, N=768, K=192); in blocks it ran at 122. */
  int64_t rows_per_block = (int64_t)786432 / N;
  if (rows_per_block < 128) rows_per_block = 128;
  for (int64_t i = 0; i < batch; i++) {
    float *Ci = C + i * M * N;
    for (int64_t m0 = 0; m0 < M; m0 += rows_per_block) {
      int64_t mm = M - m0 < rows_per_block ? M - m0 : rows_per_block;
      float *Cb = Ci + m0 * N;
      float b = beta;
      if (bias) {
        for (int64_t r = 0; r < mm; r++) memcpy(Cb + r * N, bias, (size_t)N * sizeof(float));
        b = 1.0f;
      }
      if (K == 0) {
        if (b == 0.0f) memset(Cb, 0, (size_t)(mm * N) * sizeof(float));
        continue;
      }
      /* Rows m0.. of op(A): A row-major M×K (lda K), or transposed, stored K×M (lda M). */
      const float *Ab = ta ? A + ao[i] + m0 : A + ao[i] + m0 * K;
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)mm, (int)N,
                  (int)K, 1.0f, Ab, ta ? (int)M : (int)K, B + bo[i], tb ? (int)K : (int)N, b, Cb, (int)N);
    }
  }
  return NULL;
}

/* binary(op, a, b, out, shape Int32Array, stridesA Int32Array, stridesB Int32Array) */
static napi_value js_binary(napi_env env, napi_callback_info info) {
  ARGS(7);
  int op = (int)get_i64(env, argv[0]);
  F32(1, a, lenA);
  F32(2, b, lenB);
  F32(3, o, lenO);
  int32_t *shape, *sa, *sb;
  size_t r1, r2, r3;
  if (!get_i32arr(env, argv[4], &shape, &r1) || !get_i32arr(env, argv[5], &sa, &r2) ||
      !get_i32arr(env, argv[6], &sb, &r3) || r1 != r2 || r1 != r3 || r1 > 8) {
    napi_throw_type_error(env, NULL, "epg_tensor_native: binary shape/strides must be Int32Arrays of equal rank <= 8");
    return NULL;
  }
  int rank = (int)r1;
  int64_t sh[8], s1[8], s2[8], total = 1, maxa = 0, maxb = 0;
  for (int d = 0; d < rank; d++) {
    sh[d] = shape[d]; s1[d] = sa[d]; s2[d] = sb[d];
    total *= sh[d];
    maxa += (sh[d] - 1) * s1[d];
    maxb += (sh[d] - 1) * s2[d];
  }
  NEED((int64_t)lenO >= total);
  if (total == 0) return NULL;
  NEED(maxa < (int64_t)lenA && maxb < (int64_t)lenB);
  binary_nd(op, a, b, o, rank, sh, s1, s2);
  return NULL;
}

/* unary(op, x, out) */
static napi_value js_unary(napi_env env, napi_callback_info info) {
  ARGS(3);
  int op = (int)get_i64(env, argv[0]);
  F32(1, x, lenX);
  F32(2, o, lenO);
  NEED(lenO >= lenX);
  unary(op, x, o, (int64_t)lenX);
  return NULL;
}

/* grad(kind, x, dy, out): kind 0 = erf', 1 = gelu' */
static napi_value js_unary_grad(napi_env env, napi_callback_info info) {
  ARGS(4);
  int kind = (int)get_i64(env, argv[0]);
  F32(1, x, lenX);
  F32(2, dy, lenD);
  F32(3, o, lenO);
  NEED(lenD == lenX && lenO >= lenX);
  if (kind == 0) erf_grad(x, dy, o, (int64_t)lenX);
  else gelu_grad(x, dy, o, (int64_t)lenX);
  return NULL;
}

/* reduce(op, x, out, outer, red, inner) */
static napi_value js_reduce(napi_env env, napi_callback_info info) {
  ARGS(6);
  int op = (int)get_i64(env, argv[0]);
  F32(1, x, lenX);
  F32(2, o, lenO);
  int64_t outer = get_i64(env, argv[3]), red = get_i64(env, argv[4]), inner = get_i64(env, argv[5]);
  NEED(outer >= 0 && red >= 1 && inner >= 0);
  NEED((int64_t)lenX >= outer * red * inner && (int64_t)lenO >= outer * inner);
  double *acc = (double *)malloc((size_t)(inner > 0 ? inner : 1) * sizeof(double));
  if (!acc) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  reduce_mid(op, x, o, outer, red, inner, acc);
  free(acc);
  return NULL;
}

/* softmax(x, out, rows, cols) */
static napi_value js_softmax(napi_env env, napi_callback_info info) {
  ARGS(4);
  F32(0, x, lenX);
  F32(1, o, lenO);
  int64_t rows = get_i64(env, argv[2]), cols = get_i64(env, argv[3]);
  NEED(cols >= 1 && rows >= 0 && (int64_t)lenX >= rows * cols && (int64_t)lenO >= rows * cols);
  softmax_rows(x, o, rows, cols);
  return NULL;
}

/* softmaxGrad(y, dy, out, rows, cols) */
static napi_value js_softmax_grad(napi_env env, napi_callback_info info) {
  ARGS(5);
  F32(0, y, lenY);
  F32(1, dy, lenD);
  F32(2, o, lenO);
  int64_t rows = get_i64(env, argv[3]), cols = get_i64(env, argv[4]);
  NEED(cols >= 1 && (int64_t)lenY >= rows * cols && (int64_t)lenD >= rows * cols && (int64_t)lenO >= rows * cols);
  softmax_grad_rows(y, dy, o, rows, cols);
  return NULL;
}

/* layerNorm(x, gamma|null, beta|null, y, mean, rstd, rows, cols, eps) */
static napi_value js_layer_norm(napi_env env, napi_callback_info info) {
  ARGS(9);
  F32(0, x, lenX);
  F32(1, gamma, lenG);
  F32(2, beta, lenB);
  F32(3, y, lenY);
  F32(4, mean, lenM);
  F32(5, rstd, lenR);
  int64_t rows = get_i64(env, argv[6]), cols = get_i64(env, argv[7]);
  float eps = (float)get_f64(env, argv[8]);
  NEED(cols >= 1 && (int64_t)lenX >= rows * cols && (int64_t)lenY >= rows * cols);
  NEED((int64_t)lenM >= rows && (int64_t)lenR >= rows);
  NEED((gamma == NULL || (int64_t)lenG == cols) && (beta == NULL || (int64_t)lenB == cols));
  NEED(beta == NULL || gamma != NULL);
  layer_norm(x, gamma, beta, y, mean, rstd, rows, cols, eps);
  return NULL;
}

/* layerNormGrad(x, gamma|null, mean, rstd, dy, dx, dgamma|null, dbeta|null, rows, cols) */
static napi_value js_layer_norm_grad(napi_env env, napi_callback_info info) {
  ARGS(10);
  F32(0, x, lenX);
  F32(1, gamma, lenG);
  F32(2, mean, lenM);
  F32(3, rstd, lenR);
  F32(4, dy, lenD);
  F32(5, dx, lenDx);
  F32(6, dgamma, lenDg);
  F32(7, dbeta, lenDb);
  int64_t rows = get_i64(env, argv[8]), cols = get_i64(env, argv[9]);
  NEED(cols >= 1 && (int64_t)lenX >= rows * cols && (int64_t)lenD >= rows * cols && (int64_t)lenDx >= rows * cols);
  NEED((int64_t)lenM >= rows && (int64_t)lenR >= rows);
  NEED(gamma == NULL || (int64_t)lenG == cols);
  NEED((dgamma == NULL || (int64_t)lenDg == cols) && (dbeta == NULL || (int64_t)lenDb == cols));
  double *acc = (double *)malloc((size_t)(2 * cols) * sizeof(double));
  float *tmp = (float *)malloc((size_t)(2 * cols) * sizeof(float)); /* x̂ and dy·γ of one row */
  if (!acc || !tmp) {
    free(acc);
    free(tmp);
    napi_throw_error(env, NULL, "epg_tensor_native: out of memory");
    return NULL;
  }
  layer_norm_grad(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, cols, acc, tmp);
  free(acc);
  free(tmp);
  return NULL;
}

/* transpose(x, out, shape Int32Array, perm Int32Array) — caller collapses dims; rank <= 8. */
static napi_value js_transpose(napi_env env, napi_callback_info info) {
  ARGS(4);
  F32(0, x, lenX);
  F32(1, o, lenO);
  int32_t *shape, *perm;
  size_t r1, r2;
  if (!get_i32arr(env, argv[2], &shape, &r1) || !get_i32arr(env, argv[3], &perm, &r2) || r1 != r2 || r1 < 1 ||
      r1 > 8) {
    napi_throw_type_error(env, NULL, "epg_tensor_native: transpose shape/perm must be Int32Arrays of equal rank 1..8");
    return NULL;
  }
  int rank = (int)r1;
  int64_t sh[8], total = 1;
  int p[8], seen[8] = {0};
  for (int d = 0; d < rank; d++) {
    sh[d] = shape[d];
    total *= sh[d];
    p[d] = perm[d];
    NEED(p[d] >= 0 && p[d] < rank && !seen[p[d]]);
    seen[p[d]] = 1;
  }
  NEED((int64_t)lenX >= total && (int64_t)lenO >= total);
  if (total == 0) return NULL;
  transpose_nd(x, o, rank, sh, p);
  return NULL;
}

/* copyBlocks(src, dst, rows, srcStride, srcOffset, dstStride, dstOffset, width): strided row copies
   (Slice/SplitV/Concat along one axis of a [rows, stride] view). */
static napi_value js_copy_blocks(napi_env env, napi_callback_info info) {
  ARGS(8);
  F32(0, src, lenS);
  F32(1, dst, lenD);
  int64_t rows = get_i64(env, argv[2]), ss = get_i64(env, argv[3]), so = get_i64(env, argv[4]);
  int64_t ds = get_i64(env, argv[5]), dof = get_i64(env, argv[6]), w = get_i64(env, argv[7]);
  NEED(rows >= 0 && w >= 0 && so >= 0 && dof >= 0);
  if (rows == 0 || w == 0) return NULL;
  NEED(so + (rows - 1) * ss + w <= (int64_t)lenS && dof + (rows - 1) * ds + w <= (int64_t)lenD);
  for (int64_t r = 0; r < rows; r++) memcpy(dst + dof + r * ds, src + so + r * ss, (size_t)w * sizeof(float));
  return NULL;
}

/* attention(qkv, out, P, B, T, H, dh, scale) */
static napi_value js_attention(napi_env env, napi_callback_info info) {
  ARGS(8);
  F32(0, qkv, lenQ);
  F32(1, o, lenO);
  F32(2, P, lenP);
  int64_t B = get_i64(env, argv[3]), T = get_i64(env, argv[4]), H = get_i64(env, argv[5]), dh = get_i64(env, argv[6]);
  float scale = (float)get_f64(env, argv[7]);
  NEED(B >= 1 && T >= 1 && H >= 1 && dh >= 1);
  NEED((int64_t)lenQ >= B * T * 3 * H * dh && (int64_t)lenO >= B * T * H * dh && (int64_t)lenP >= B * H * T * T);
  attention_fwd(qkv, o, P, B, T, H, dh, scale);
  return NULL;
}

/* attentionGrad(qkv, P, dout, dqkv, B, T, H, dh, scale) */
static napi_value js_attention_grad(napi_env env, napi_callback_info info) {
  ARGS(9);
  F32(0, qkv, lenQ);
  F32(1, P, lenP);
  F32(2, dout, lenD);
  F32(3, dqkv, lenDq);
  int64_t B = get_i64(env, argv[4]), T = get_i64(env, argv[5]), H = get_i64(env, argv[6]), dh = get_i64(env, argv[7]);
  float scale = (float)get_f64(env, argv[8]);
  NEED(B >= 1 && T >= 1 && H >= 1 && dh >= 1);
  NEED((int64_t)lenQ >= B * T * 3 * H * dh && (int64_t)lenDq >= B * T * 3 * H * dh);
  NEED((int64_t)lenD >= B * T * H * dh && (int64_t)lenP >= B * H * T * T);
  float *tmp = (float *)malloc((size_t)(T * T) * sizeof(float));
  if (!tmp) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  attention_bwd(qkv, P, dout, dqkv, tmp, B, T, H, dh, scale);
  free(tmp);
  return NULL;
}

static float *conv_scratch(napi_env env, const ConvGeom *g) {
  size_t n = (size_t)(conv_block_rows(g) * g->KH * g->KW * g->C);
  float *col = (float *)malloc((n > 0 ? n : 1) * sizeof(float));
  if (!col) napi_throw_error(env, NULL, "epg_tensor_native: out of memory");
  return col;
}

/* conv2d(x, w, bias|null, y, geom, relu) */
static napi_value js_conv2d(napi_env env, napi_callback_info info) {
  ARGS(6);
  F32(0, x, lenX);
  F32(1, w, lenW);
  F32(2, bias, lenBias);
  F32(3, y, lenY);
  GEOM(4);
  bool relu = get_bool(env, argv[5]);
  NEED((int64_t)lenX >= g.B * g.H * g.W * g.C && (int64_t)lenW == g.KH * g.KW * g.C * g.O);
  NEED((int64_t)lenY >= g.B * g.OH * g.OW * g.O && (bias == NULL || (int64_t)lenBias == g.O));
  if (g.B * g.OH * g.OW == 0) return NULL;
  float *col = conv_scratch(env, &g);
  if (!col) return NULL;
  conv2d_fwd(x, w, bias, relu, y, &g, col);
  free(col);
  return NULL;
}

/* conv2dBackpropInput(dy, w, dx, geom) */
static napi_value js_conv2d_bwd_input(napi_env env, napi_callback_info info) {
  ARGS(4);
  F32(0, dy, lenDy);
  F32(1, w, lenW);
  F32(2, dx, lenDx);
  GEOM(3);
  NEED((int64_t)lenDy >= g.B * g.OH * g.OW * g.O && (int64_t)lenW == g.KH * g.KW * g.C * g.O);
  NEED((int64_t)lenDx >= g.B * g.H * g.W * g.C);
  float *col = conv_scratch(env, &g);
  if (!col) return NULL;
  conv2d_bwd_input(dy, w, dx, &g, col);
  free(col);
  return NULL;
}

/* conv2dBackpropFilter(x, dy, dw, geom) */
static napi_value js_conv2d_bwd_filter(napi_env env, napi_callback_info info) {
  ARGS(4);
  F32(0, x, lenX);
  F32(1, dy, lenDy);
  F32(2, dw, lenDw);
  GEOM(3);
  NEED((int64_t)lenX >= g.B * g.H * g.W * g.C && (int64_t)lenDy >= g.B * g.OH * g.OW * g.O);
  NEED((int64_t)lenDw == g.KH * g.KW * g.C * g.O);
  float *col = conv_scratch(env, &g);
  if (!col) return NULL;
  conv2d_bwd_filter(x, dy, dw, &g, col);
  free(col);
  return NULL;
}

/* pool(kind 0 = max | 1 = avg, x, y, geom) with geom.O == geom.C */
static napi_value js_pool(napi_env env, napi_callback_info info) {
  ARGS(4);
  int kind = (int)get_i64(env, argv[0]);
  F32(1, x, lenX);
  F32(2, y, lenY);
  GEOM(3);
  NEED(g.O == g.C && (int64_t)lenX >= g.B * g.H * g.W * g.C && (int64_t)lenY >= g.B * g.OH * g.OW * g.C);
  if (kind == 0) max_pool_fwd(x, y, &g);
  else avg_pool_fwd(x, y, &g);
  return NULL;
}

/* poolGrad(kind, x|null, y|null, dy, dx, geom): max needs x and the forward output y, avg neither. */
static napi_value js_pool_grad(napi_env env, napi_callback_info info) {
  ARGS(6);
  int kind = (int)get_i64(env, argv[0]);
  F32(1, x, lenX);
  F32(2, y, lenY);
  F32(3, dy, lenDy);
  F32(4, dx, lenDx);
  GEOM(5);
  NEED(g.O == g.C && (int64_t)lenDx >= g.B * g.H * g.W * g.C && (int64_t)lenDy >= g.B * g.OH * g.OW * g.C);
  if (kind == 0) {
    NEED(x != NULL && (int64_t)lenX >= g.B * g.H * g.W * g.C && y != NULL && (int64_t)lenY >= g.B * g.OH * g.OW * g.C);
    float *rem = (float *)malloc((size_t)g.C * sizeof(float));
    if (!rem) {
      napi_throw_error(env, NULL, "epg_tensor_native: out of memory");
      return NULL;
    }
    max_pool_bwd(x, y, dy, dx, &g, rem);
    free(rem);
  } else {
    avg_pool_bwd(dy, dx, &g);
  }
  return NULL;
}

/* dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): row-major float64 GEMM for host statistics. */
static napi_value js_dgemm(napi_env env, napi_callback_info info) {
  ARGS(13);
  bool ta = get_bool(env, argv[0]), tb = get_bool(env, argv[1]);
  int64_t M = get_i64(env, argv[2]), N = get_i64(env, argv[3]), K = get_i64(env, argv[4]);
  double alpha = get_f64(env, argv[5]);
  F64(6, A, lenA);
  int64_t lda = get_i64(env, argv[7]);
  F64(8, B, lenB);
  int64_t ldb = get_i64(env, argv[9]);
  double beta = get_f64(env, argv[10]);
  F64(11, C, lenC);
  int64_t ldc = get_i64(env, argv[12]);
  NEED(M >= 0 && N >= 0 && K >= 0 && M < 2147483647 && N < 2147483647 && K < 2147483647);
  if (M == 0 || N == 0) return NULL;
  int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  NEED(lda >= (ac > 0 ? ac : 1) && ldb >= (bc > 0 ? bc : 1) && ldc >= N);
  NEED(ar == 0 || (ar - 1) * lda + ac <= (int64_t)lenA);
  NEED(br == 0 || (br - 1) * ldb + bc <= (int64_t)lenB);
  NEED((M - 1) * ldc + N <= (int64_t)lenC);
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha,
              A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  return NULL;
}

/* dsyrkUpper(N, K, alpha, A, lda, beta, C, ldc): upper triangle of C = alpha A Aᵀ + beta C, A row-major N×K. */
static napi_value js_dsyrk_upper(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t N = get_i64(env, argv[0]), K = get_i64(env, argv[1]);
  double alpha = get_f64(env, argv[2]);
  F64(3, A, lenA);
  int64_t lda = get_i64(env, argv[4]);
  double beta = get_f64(env, argv[5]);
  F64(6, C, lenC);
  int64_t ldc = get_i64(env, argv[7]);
  NEED(N >= 0 && K >= 0 && N < 2147483647 && K < 2147483647);
  if (N == 0) return NULL;
  NEED(lda >= (K > 0 ? K : 1) && ldc >= N);
  NEED((N - 1) * lda + K <= (int64_t)lenA && (N - 1) * ldc + N <= (int64_t)lenC);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)N, (int)K, alpha, A, (int)lda, beta, C, (int)ldc);
  return NULL;
}

/* adamw(p, g, m, v, pOut, mOut, vOut, lr, beta1, beta2, eps, weightDecay, bc1, bc2) */
static napi_value js_adamw(napi_env env, napi_callback_info info) {
  ARGS(14);
  F32(0, p, lenP);
  F32(1, g, lenG);
  F32(2, m, lenM);
  F32(3, v, lenV);
  F32(4, po, lenPo);
  F32(5, mo, lenMo);
  F32(6, vo, lenVo);
  NEED(lenG == lenP && lenM == lenP && lenV == lenP && lenPo == lenP && lenMo == lenP && lenVo == lenP);
  adamw_update(p, g, m, v, po, mo, vo, (int64_t)lenP, (float)get_f64(env, argv[7]), (float)get_f64(env, argv[8]),
               (float)get_f64(env, argv[9]), (float)get_f64(env, argv[10]), (float)get_f64(env, argv[11]),
               (float)get_f64(env, argv[12]), (float)get_f64(env, argv[13]));
  return NULL;
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  int n = (int)get_i64(env, argv[0]);
  if (n >= 1) openblas_set_num_threads(n);
  napi_value r;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &r));
  return r;
}

/* convAlgorithm(kind?): 0 = im2col only, 1 = Winograd where eligible; returns the current one. */
static napi_value js_conv_algorithm(napi_env env, napi_callback_info info) {
  ARGS(1);
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[0], &t));
  if (t == napi_number) {
    int64_t k = get_i64(env, argv[0]);
    NEED(k == 0 || k == 1);
    conv_winograd = (int)k;
  }
  napi_value r;
  CHECK(napi_create_int32(env, conv_winograd, &r));
  return r;
}

static napi_value js_blas_config(napi_env env, napi_callback_info info) {
  (void)info;
  char buf[512];
  const char *cfg = openblas_get_config();
  const char *core = openblas_get_corename();
  snprintf(buf, sizeof buf, "%s; core %s; %d thread(s)", cfg ? cfg : "?", core ? core : "?",
           openblas_get_num_threads());
  napi_value r;
  CHECK(napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &r));
  return r;
}

napi_status epg_register_transformer(napi_env env, napi_value exports); /* fused_transformer.c */
napi_value epg_conv_extra_init(napi_env env, napi_value exports); /* conv_extra.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, js_binary, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, js_unary, NULL, NULL, NULL, napi_default, NULL},
      {"unaryGrad", NULL, js_unary_grad, NULL, NULL, NULL, napi_default, NULL},
      {"reduce", NULL, js_reduce, NULL, NULL, NULL, napi_default, NULL},
      {"softmax", NULL, js_softmax, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxGrad", NULL, js_softmax_grad, NULL, NULL, NULL, napi_default, NULL},
      {"layerNorm", NULL, js_layer_norm, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormGrad", NULL, js_layer_norm_grad, NULL, NULL, NULL, napi_default, NULL},
      {"transpose", NULL, js_transpose, NULL, NULL, NULL, napi_default, NULL},
      {"copyBlocks", NULL, js_copy_blocks, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, js_attention, NULL, NULL, NULL, napi_default, NULL},
      {"attentionGrad", NULL, js_attention_grad, NULL, NULL, NULL, napi_default, NULL},
      {"conv2d", NULL, js_conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropInput", NULL, js_conv2d_bwd_input, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropFilter", NULL, js_conv2d_bwd_filter, NULL, NULL, NULL, napi_default, NULL},
      {"pool", NULL, js_pool, NULL, NULL, NULL, napi_default, NULL},
      {"poolGrad", NULL, js_pool_grad, NULL, NULL, NULL, napi_default, NULL},
      {"dgemm", NULL, js_dgemm, NULL, NULL, NULL, napi_default, NULL},
      {"dsyrkUpper", NULL, js_dsyrk_upper, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, js_adamw, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"convAlgorithm", NULL, js_conv_algorithm, NULL, NULL, NULL, napi_default, NULL},
      {"blasConfig", NULL, js_blas_config, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (epg_register_transformer(env, exports) != napi_ok) return NULL;
  if (!epg_conv_extra_init(env, exports)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
