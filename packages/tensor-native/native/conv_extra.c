/*
 * Convolution-side extras for @epg/tensor-native (issue 15, round 2): fused BatchNorm (+ ReLU) over
 * the channel axis of NHWC activations, forward and gradient; a direct convolution and filter
 * gradient for filters with a short reduction (KH·KW·C small, e.g. a 1-channel first layer, where
 * im2col + GEMM with K = 9 runs at a few GFLOP/s); a max-pool gradient for non-overlapping
 * windows (stride = window, the common 2×2/2 pool) that writes every dx element once; bilinear
 * resize (Inception's 32 → 299 input); float64 LAPACK for the Fréchet distance.
 *
 * Same conventions as kernels.c: every array is caller-allocated, nothing is returned. Registered
 * into the addon's exports by epg_conv_extra_init, which kernels.c's init calls.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "napi_args.h"


/* ------------------------------------------------------------------------------------------ */
/* BatchNorm over rows (B·H·W) of a [rows, C] matrix, per channel, then optionally ReLU.       */

/*
 * Training mode: batch mean and biased variance per channel (two passes, double accumulators so
 * that the variance of large batches loses nothing to cancellation), then
 * y = act((x − mean) · rsqrt(var + eps) · gamma + beta). sum, sq: C doubles of scratch.
 */
HOT static void bn_train_fwd(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                               float *var, int64_t rows, int64_t C, float eps, int relu, double *sum, double *sq,
                               float *scale, float *shift) {
  for (int64_t c = 0; c < C; c++) sum[c] = 0.0, sq[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    for (int64_t c = 0; c < C; c++) sum[c] += xr[c];
  }
  double inv_n = rows > 0 ? 1.0 / (double)rows : 0.0;
  for (int64_t c = 0; c < C; c++) mean[c] = (float)(sum[c] * inv_n);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      double d = (double)xr[c] - (double)mean[c];
      sq[c] += d * d;
    }
  }
  /* y = x · scale + shift, with scale = gamma · rstd and shift = beta − mean · scale */
  for (int64_t c = 0; c < C; c++) {
    var[c] = (float)(sq[c] * inv_n);
    double rstd = 1.0 / sqrt((double)var[c] + (double)eps);
    double g = gamma ? (double)gamma[c] : 1.0;
    scale[c] = (float)(g * rstd);
    shift[c] = (float)((beta ? (double)beta[c] : 0.0) - (double)mean[c] * g * rstd);
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    float *yr = y + r * C;
    if (relu)
      for (int64_t c = 0; c < C; c++) {
        float v = xr[c] * scale[c] + shift[c];
        yr[c] = v > 0.0f ? v : (v != v ? v : 0.0f);
      }
    else
      for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

/*
 * Gradient of the training-mode op (mean and variance are functions of x). With g = dy masked by
 * y > 0 when relu, x̂ = (x − mean)·rstd:
 *   dbeta = Σ g,  dgamma = Σ g·x̂,  dx = gamma·rstd · (g − dbeta/N − x̂·dgamma/N).
 * sg, sgx: C doubles of scratch each; fa: 3·C floats of scratch. dgamma/dbeta may be NULL (no affine part).
 */
HOT static void bn_train_bwd(const float *x, const float *gamma, const float *mean, const float *var, const float *y,
                               const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t C,
                               float eps, int relu, double *sg, double *sgx, float *fa) {
  for (int64_t c = 0; c < C; c++) sg[c] = 0.0, sgx[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C, *yr = y + r * C, *dr = dy + r * C;
    if (relu)
      for (int64_t c = 0; c < C; c++) {
        float g = yr[c] > 0.0f ? dr[c] : 0.0f;
        sg[c] += g;
        sgx[c] += (double)g * ((double)xr[c] - (double)mean[c]);
      }
    else
      for (int64_t c = 0; c < C; c++) {
        sg[c] += dr[c];
        sgx[c] += (double)dr[c] * ((double)xr[c] - (double)mean[c]);
      }
  }
  double inv_n = rows > 0 ? 1.0 / (double)rows : 0.0;
  /* per channel: dx = a·g + b·x + k, with a = gamma·rstd, b = −a·rstd²·Σg(x−mean)/N, k = −a·Σg/N − b·mean */
  float *fb = fa + C, *fk = fb + C;
  for (int64_t c = 0; c < C; c++) {
    double rstd = 1.0 / sqrt((double)var[c] + (double)eps);
    double gm = gamma ? (double)gamma[c] : 1.0;
    double a = gm * rstd;
    double b = -a * rstd * rstd * sgx[c] * inv_n;
    double k = -a * sg[c] * inv_n - b * (double)mean[c];
    fa[c] = (float)a, fb[c] = (float)b, fk[c] = (float)k;
    if (dbeta) dbeta[c] = (float)sg[c];
    if (dgamma) dgamma[c] = (float)(sgx[c] * rstd);
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C, *yr = y + r * C, *dr = dy + r * C;
    float *o = dx + r * C;
    if (relu)
      for (int64_t c = 0; c < C; c++) {
        float g = yr[c] > 0.0f ? dr[c] : 0.0f;
        o[c] = fa[c] * g + fb[c] * xr[c] + fk[c];
      }
    else
      for (int64_t c = 0; c < C; c++) o[c] = fa[c] * dr[c] + fb[c] * xr[c] + fk[c];
  }
}

/* y = act(x · scale + shift) per channel (inference-mode BatchNorm with folded statistics). */
HOT static void scale_shift_act(const float *x, const float *scale, const float *shift, float *y, int64_t rows,
                                  int64_t C, int relu) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    float *yr = y + r * C;
    if (relu)
      for (int64_t c = 0; c < C; c++) {
        float v = xr[c] * scale[c] + shift[c];
        yr[c] = v > 0.0f ? v : (v != v ? v : 0.0f);
      }
    else
      for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Direct convolution (NHWC, HWIO), vectorised over output channels.                         */


/* y[b, oy, ox, :] = Σ_{ky, kx, c} x[b, iy, ix, c] · w[ky, kx, c, :] (+ bias), then ReLU when relu. */
HOT static void conv_direct_fwd(const float *x, const float *w, const float *bias, float *y, const ConvGeom *g, int relu) {
  const int64_t C = g->C, O = g->O;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        float *yr = y + ((b * g->OH + oy) * g->OW + ox) * O;
        if (bias) memcpy(yr, bias, (size_t)O * sizeof(float));
        else memset(yr, 0, (size_t)O * sizeof(float));
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            const float *xr = x + ((b * g->H + iy) * g->W + ix) * C;
            const float *wr = w + (ky * g->KW + kx) * C * O;
            for (int64_t c = 0; c < C; c++) {
              const float xv = xr[c];
              const float *wc = wr + c * O;
              for (int64_t o = 0; o < O; o++) yr[o] += xv * wc[o];
            }
          }
        }
        if (relu)
          for (int64_t o = 0; o < O; o++) yr[o] = yr[o] > 0.0f ? yr[o] : (yr[o] != yr[o] ? yr[o] : 0.0f);
      }
}

/* dw[ky, kx, c, :] = Σ_{b, oy, ox} x[b, iy, ix, c] · dy[b, oy, ox, :]. */
HOT static void conv_direct_bwd_filter(const float *x, const float *dy, float *dw, const ConvGeom *g) {
  const int64_t C = g->C, O = g->O;
  memset(dw, 0, (size_t)(g->KH * g->KW * C * O) * sizeof(float));
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        const float *dr = dy + ((b * g->OH + oy) * g->OW + ox) * O;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->W) continue;
            const float *xr = x + ((b * g->H + iy) * g->W + ix) * C;
            float *wr = dw + (ky * g->KW + kx) * C * O;
            for (int64_t c = 0; c < C; c++) {
              const float xv = xr[c];
              float *wc = wr + c * O;
              for (int64_t o = 0; o < O; o++) wc[o] += xv * dr[o];
            }
          }
        }
      }
}

/*
 * Max-pool gradient for windows that tile without overlap (stride = window, no dilation, no
 * padding): dy goes to the first position in scan order whose x equals the forward output y (as
 * tfjs's MaxPoolGrad and kernels.c's general path); every dx element is written exactly once.
 */
HOT static void max_pool_bwd_tiled(const float *x, const float *y, const float *dy, float *dx, const ConvGeom *g,
                                     float *rem) {
  const int64_t C = g->C;
  for (int64_t b = 0; b < g->B; b++) {
    for (int64_t iy = 0; iy < g->H; iy++) {
      int64_t oy = iy / g->KH;
      float *dxr = dx + (b * g->H + iy) * g->W * C;
      if (oy >= g->OH) { memset(dxr, 0, (size_t)(g->W * C) * sizeof(float)); continue; }
      if (g->OW * g->KW < g->W)
        memset(dxr + g->OW * g->KW * C, 0, (size_t)((g->W - g->OW * g->KW) * C) * sizeof(float));
    }
    for (int64_t oy = 0; oy < g->OH; oy++)
      for (int64_t ox = 0; ox < g->OW; ox++) {
        int64_t o = ((b * g->OH + oy) * g->OW + ox) * C;
        const float *yr = y + o, *dyr = dy + o;
        for (int64_t c = 0; c < C; c++) rem[c] = yr[c] > -INFINITY ? 1.0f : 0.0f;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          int64_t iy = oy * g->KH + ky;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t off = ((b * g->H + iy) * g->W + ox * g->KW + kx) * C;
            const float *xr = x + off;
            float *d = dx + off;
            for (int64_t c = 0; c < C; c++) {
              float hit = xr[c] == yr[c] ? rem[c] : 0.0f;
              d[c] = dyr[c] * hit;
              rem[c] -= hit;
            }
          }
        }
      }
  }
}



/*
 * Bilinear resize of NHWC images, tfjs's ResizeBilinear cpu kernel exactly: source coordinates and
 * interpolation weights in double, as its JS does, so the results agree bit for bit.
 */
static void resize_bilinear(const float *x, float *y, int64_t B, int64_t H, int64_t W, int64_t C, int64_t NH,
                            int64_t NW, int align_corners, int half_pixel) {
  double in_h = (align_corners && NH > 1) ? (double)(H - 1) : (double)H;
  double in_w = (align_corners && NW > 1) ? (double)(W - 1) : (double)W;
  double out_h = (align_corners && NH > 1) ? (double)(NH - 1) : (double)NH;
  double out_w = (align_corners && NW > 1) ? (double)(NW - 1) : (double)NW;
  double rr = in_h / out_h, cr = in_w / out_w;
  int64_t *c0 = (int64_t *)malloc((size_t)(2 * NW) * sizeof(int64_t));
  double *cf = (double *)malloc((size_t)NW * sizeof(double));
  if (!c0 || !cf) { free(c0); free(cf); return; }
  int64_t *c1 = c0 + NW;
  for (int64_t c = 0; c < NW; c++) {
    double f = half_pixel ? cr * ((double)c + 0.5) - 0.5 : cr * (double)c;
    double fl = floor(f);
    int64_t lo = fl > 0 ? (int64_t)fl : 0;
    int64_t hi = (int64_t)ceil(f);
    if (hi > W - 1) hi = W - 1;
    c0[c] = lo * C, c1[c] = hi * C, cf[c] = f - (double)lo;
  }
  float *o = y;
  for (int64_t b = 0; b < B; b++)
    for (int64_t r = 0; r < NH; r++) {
      double f = half_pixel ? rr * ((double)r + 0.5) - 0.5 : rr * (double)r;
      double fl = floor(f);
      int64_t lo = fl > 0 ? (int64_t)fl : 0;
      int64_t hi = (int64_t)ceil(f);
      if (hi > H - 1) hi = H - 1;
      double rf = f - (double)lo;
      const float *top = x + (b * H + lo) * W * C, *bot = x + (b * H + hi) * W * C;
      for (int64_t c = 0; c < NW; c++) {
        const float *tl = top + c0[c], *tr = top + c1[c], *bl = bot + c0[c], *br = bot + c1[c];
        double wf = cf[c];
        for (int64_t d = 0; d < C; d++) {
          double t = (double)tl[d] + ((double)tr[d] - (double)tl[d]) * wf;
          double bo = (double)bl[d] + ((double)br[d] - (double)bl[d]) * wf;
          *o++ = (float)(t + (bo - t) * rf);
        }
      }
    }
  free(c0);
  free(cf);
}

/* ------------------------------------------------------------------------------------------ */
/* Float64 LAPACK on host arrays, for the Fréchet distance at d = 2048: pivoted Cholesky         */
/* (dpstrf) and symmetric eigenvalues (dsyevd, no vectors). OpenBLAS ships LAPACK; the symbols  */
/* are weak so that a BLAS without LAPACK still links, and lapackAvailable() then says no (the  */
/* JS side keeps its own implementation). Fortran ABI: hidden string lengths passed explicitly. */

extern void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv, int *rank, const double *tol,
                    double *work, int *info, size_t uplo_len) __attribute__((weak));
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
                    const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len, size_t uplo_len)
    __attribute__((weak));

static int lapack_ok(void) { return dpstrf_ != NULL && dsyevd_ != NULL; }

/* ------------------------------------------------------------------------------------------ */
/* N-API glue.                                                                                */

/* batchNormAct(x, gamma|null, beta|null, y, mean, var, rows, C, eps, relu) */
static napi_value js_batch_norm_act(napi_env env, napi_callback_info info) {
  ARGS(10);
  F32(0, x, nx);
  F32(1, gamma, ng);
  F32(2, beta, nb);
  F32(3, y, ny);
  F32(4, mean, nm);
  F32(5, var, nv);
  int64_t rows = get_i64(env, argv[6]), C = get_i64(env, argv[7]);
  NEED(rows >= 0 && C >= 1 && (int64_t)nx == rows * C && ny == nx && (int64_t)nm == C && (int64_t)nv == C);
  NEED((!gamma || (int64_t)ng == C) && (!beta || (int64_t)nb == C));
  double *scratch = (double *)malloc((size_t)(3 * C) * sizeof(double));
  if (!scratch) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  float *fscratch = (float *)(scratch + 2 * C);
  bn_train_fwd(x, gamma, beta, y, mean, var, rows, C, (float)get_f64(env, argv[8]), get_bool(env, argv[9]), scratch,
               scratch + C, fscratch, fscratch + C);
  free(scratch);
  return NULL;
}

/* batchNormActGrad(x, gamma|null, mean, var, y, dy, dx, dgamma|null, dbeta|null, rows, C, eps, relu) */
static napi_value js_batch_norm_act_grad(napi_env env, napi_callback_info info) {
  ARGS(13);
  F32(0, x, nx);
  F32(1, gamma, ng);
  F32(2, mean, nm);
  F32(3, var, nv);
  F32(4, y, ny);
  F32(5, dy, nd);
  F32(6, dx, ndx);
  F32(7, dgamma, ndg);
  F32(8, dbeta, ndb);
  int64_t rows = get_i64(env, argv[9]), C = get_i64(env, argv[10]);
  NEED(rows >= 0 && C >= 1 && (int64_t)nx == rows * C && ny == nx && nd == nx && ndx == nx);
  NEED((int64_t)nm == C && (int64_t)nv == C && (!gamma || (int64_t)ng == C));
  NEED((!dgamma || (int64_t)ndg == C) && (!dbeta || (int64_t)ndb == C));
  double *scratch = (double *)malloc((size_t)(4 * C) * sizeof(double));
  if (!scratch) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  bn_train_bwd(x, gamma, mean, var, y, dy, dx, dgamma, dbeta, rows, C, (float)get_f64(env, argv[11]),
               get_bool(env, argv[12]), scratch, scratch + C, (float *)(scratch + 2 * C));
  free(scratch);
  return NULL;
}

/* scaleShiftAct(x, scale, shift, y, rows, C, relu) */
static napi_value js_scale_shift_act(napi_env env, napi_callback_info info) {
  ARGS(7);
  F32(0, x, nx);
  F32(1, scale, ns);
  F32(2, shift, nh);
  F32(3, y, ny);
  int64_t rows = get_i64(env, argv[4]), C = get_i64(env, argv[5]);
  NEED(rows >= 0 && C >= 1 && (int64_t)nx == rows * C && ny == nx && (int64_t)ns == C && (int64_t)nh == C);
  scale_shift_act(x, scale, shift, y, rows, C, get_bool(env, argv[6]));
  return NULL;
}

/* convDirect(x, w, bias|null, y, geom, relu) */
static napi_value js_conv_direct(napi_env env, napi_callback_info info) {
  ARGS(6);
  F32(0, x, nx);
  F32(1, w, nw);
  F32(2, bias, nb);
  F32(3, y, ny);
  GEOM(4);
  NEED((int64_t)nx == g.B * g.H * g.W * g.C && (int64_t)nw == g.KH * g.KW * g.C * g.O);
  NEED((int64_t)ny == g.B * g.OH * g.OW * g.O && (!bias || (int64_t)nb == g.O));
  conv_direct_fwd(x, w, bias, y, &g, get_bool(env, argv[5]));
  return NULL;
}

/* convDirectBackpropFilter(x, dy, dw, geom) */
static napi_value js_conv_direct_bwd_filter(napi_env env, napi_callback_info info) {
  ARGS(4);
  F32(0, x, nx);
  F32(1, dy, nd);
  F32(2, dw, nw);
  GEOM(3);
  NEED((int64_t)nx == g.B * g.H * g.W * g.C && (int64_t)nw == g.KH * g.KW * g.C * g.O);
  NEED((int64_t)nd == g.B * g.OH * g.OW * g.O);
  conv_direct_bwd_filter(x, dy, dw, &g);
  return NULL;
}

/* maxPoolGradTiled(x, y, dy, dx, geom): stride = window, no dilation, no padding */
static napi_value js_max_pool_grad_tiled(napi_env env, napi_callback_info info) {
  ARGS(5);
  F32(0, x, nx);
  F32(1, y, ny);
  F32(2, dy, nd);
  F32(3, dx, ndx);
  GEOM(4);
  NEED(g.sh == g.KH && g.sw == g.KW && g.dh == 1 && g.dw == 1 && g.pt == 0 && g.pl == 0 && g.O == g.C);
  NEED(g.OH * g.KH <= g.H && g.OW * g.KW <= g.W);
  NEED((int64_t)nx == g.B * g.H * g.W * g.C && ndx == nx && (int64_t)ny == g.B * g.OH * g.OW * g.C && nd == ny);
  float *rem = (float *)malloc((size_t)g.C * sizeof(float));
  if (!rem) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  max_pool_bwd_tiled(x, y, dy, dx, &g, rem);
  free(rem);
  return NULL;
}


extern int openblas_get_num_threads(void);

/* blasThreads(): OpenBLAS's thread count now in force (setThreads in kernels.c changes it). */
static napi_value js_blas_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &r));
  return r;
}

static napi_value js_lapack_available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  CHECK(napi_get_boolean(env, lapack_ok(), &r));
  return r;
}

/*
 * pivotedCholeskyF64(a, n, piv): dpstrf with uplo 'L' and LAPACK's default tolerance on the
 * symmetric n×n a (row-major = column-major for a symmetric matrix), overwritten: its row-major
 * upper triangle then holds the factor transposed. piv (Int32Array n) gets the 1-based pivots.
 * Returns the numerical rank.
 */
static napi_value js_pivoted_cholesky_f64(napi_env env, napi_callback_info info) {
  ARGS(3);
  F64(0, a, na);
  int n = (int)get_i64(env, argv[1]);
  I32(2, piv, npiv);
  NEED(n >= 1 && na == (size_t)n * (size_t)n && npiv == (size_t)n);
  if (!lapack_ok()) { napi_throw_error(env, NULL, "epg_tensor_native: this BLAS has no LAPACK (dpstrf)"); return NULL; }
  double *work = (double *)malloc((size_t)(2 * n) * sizeof(double));
  if (!work) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  int rank = 0, info_ = 0;
  double tol = -1.0;
  dpstrf_("L", &n, a, &n, (int *)piv, &rank, &tol, work, &info_, 1);
  free(work);
  NEED(info_ >= 0);
  napi_value r;
  CHECK(napi_create_int32(env, rank, &r));
  return r;
}

/* symmetricEigenvaluesF64(a, n, w): eigenvalues (ascending) of the symmetric n×n a into w; a is destroyed. */
static napi_value js_symmetric_eigenvalues_f64(napi_env env, napi_callback_info info) {
  ARGS(3);
  F64(0, a, na);
  F64(2, w, nw);
  int n = (int)get_i64(env, argv[1]);
  NEED(n >= 1 && na == (size_t)n * (size_t)n && nw == (size_t)n);
  if (!lapack_ok()) { napi_throw_error(env, NULL, "epg_tensor_native: this BLAS has no LAPACK (dsyevd)"); return NULL; }
  int lwork = 2 * n + 1, liwork = 1, info_ = 0;
  double *work = (double *)malloc((size_t)lwork * sizeof(double));
  int iwork[1];
  if (!work) { napi_throw_error(env, NULL, "epg_tensor_native: out of memory"); return NULL; }
  dsyevd_("N", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, &info_, 1, 1);
  free(work);
  if (info_ != 0) { napi_throw_error(env, NULL, "epg_tensor_native: dsyevd did not converge"); return NULL; }
  return NULL;
}

/* resizeBilinear(x, y, B, H, W, C, newH, newW, alignCorners, halfPixelCenters) */
static napi_value js_resize_bilinear(napi_env env, napi_callback_info info) {
  ARGS(10);
  F32(0, x, nx);
  F32(1, y, ny);
  int64_t B = get_i64(env, argv[2]), H = get_i64(env, argv[3]), W = get_i64(env, argv[4]), C = get_i64(env, argv[5]);
  int64_t NH = get_i64(env, argv[6]), NW = get_i64(env, argv[7]);
  NEED(B >= 0 && H >= 1 && W >= 1 && C >= 1 && NH >= 1 && NW >= 1);
  NEED((int64_t)nx == B * H * W * C && (int64_t)ny == B * NH * NW * C);
  resize_bilinear(x, y, B, H, W, C, NH, NW, get_bool(env, argv[8]), get_bool(env, argv[9]));
  return NULL;
}

/* Adds this file's functions to the addon's exports (called from kernels.c's init). */
napi_value epg_conv_extra_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"batchNormAct", NULL, js_batch_norm_act, NULL, NULL, NULL, napi_default, NULL},
      {"batchNormActGrad", NULL, js_batch_norm_act_grad, NULL, NULL, NULL, napi_default, NULL},
      {"scaleShiftAct", NULL, js_scale_shift_act, NULL, NULL, NULL, napi_default, NULL},
      {"convDirect", NULL, js_conv_direct, NULL, NULL, NULL, napi_default, NULL},
      {"convDirectBackpropFilter", NULL, js_conv_direct_bwd_filter, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGradTiled", NULL, js_max_pool_grad_tiled, NULL, NULL, NULL, napi_default, NULL},
      {"resizeBilinear", NULL, js_resize_bilinear, NULL, NULL, NULL, napi_default, NULL},
      {"blasThreads", NULL, js_blas_threads, NULL, NULL, NULL, napi_default, NULL},
      {"lapackAvailable", NULL, js_lapack_available, NULL, NULL, NULL, napi_default, NULL},
      {"pivotedCholeskyF64", NULL, js_pivoted_cholesky_f64, NULL, NULL, NULL, napi_default, NULL},
      {"symmetricEigenvaluesF64", NULL, js_symmetric_eigenvalues_f64, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
