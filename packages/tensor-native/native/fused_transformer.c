/*
 * Fused transformer-block kernels for @epg/tensor-native (the adaLN-Zero decoder blocks of @epg/vit):
 *
 *   layerNormModulate:  y = (LN(x)·γ + β) ⊙ (1 + scale_g) + shift_g      (DiT's modulate(norm(x)))
 *   gatedResidual:      y = x + gate_g ⊙ a                               (DiT's x + gate·block(x))
 *
 * x, a, y are [rows, cols] with rows grouped by sample: row r belongs to group g = r / group_rows
 * (the tokens of one image); scale, shift, gate are [groups, cols]. One pass forward, one backward,
 * instead of tfjs's LayerNorm + add + mul + add (and their broadcast-reducing gradients).
 * Registered on the addon's exports by epg_register_transformer (called from kernels.c's init).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "napi_args.h"
#include "lanes.h"


/*
 * Forward. Saves mean and rstd per row (the LayerNorm statistics) for the backward pass.
 * (Ba et al. 2016, biased variance as PyTorch; Peebles & Xie 2023, adaLN modulation.)
 */
HOT static void ln_modulate_fwd(const float *x, const float *gamma, const float *beta, const float *scale,
                                const float *shift, float *y, float *mean_out, float *rstd_out, int64_t rows,
                                int64_t cols, int64_t group_rows, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    const float *sc = scale + (r / group_rows) * cols, *sh = shift + (r / group_rows) * cols;
    float *yr = y + r * cols;
    float mu = sum_lanes(xr, cols) / (float)cols;
    float rstd = 1.0f / sqrtf(sq_dev_lanes(xr, mu, cols) / (float)cols + eps);
    for (int64_t c = 0; c < cols; c++) yr[c] = ((xr[c] - mu) * rstd * gamma[c] + beta[c]) * (1.0f + sc[c]) + sh[c];
    mean_out[r] = mu;
    rstd_out[r] = rstd;
  }
}

/*
 * Backward. With x̂ = (x − μ)·rstd, n = x̂·γ + β, dn = dy ⊙ (1 + scale_g):
 *   dshift_g = Σ_{r∈g} dy,  dscale_g = Σ_{r∈g} dy ⊙ n,  dβ = Σ_r dn,  dγ = Σ_r dn ⊙ x̂,
 *   dx = rstd·(dn·γ − mean(dn·γ) − x̂·mean(dn·γ ⊙ x̂)).
 * dγ, dβ accumulate in double over all rows (acc: 2·cols); dscale/dshift per group in double (gacc: 2·cols).
 */
HOT static void ln_modulate_bwd(const float *x, const float *gamma, const float *beta, const float *scale,
                                const float *mean, const float *rstd, const float *dy, float *dx, float *dgamma,
                                float *dbeta, float *dscale, float *dshift, int64_t rows, int64_t cols,
                                int64_t group_rows, double *acc, double *gacc, float *tmp) {
  double *ag = acc, *ab = acc + cols, *gs = gacc, *gh = gacc + cols;
  for (int64_t c = 0; c < 2 * cols; c++) acc[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t g = r / group_rows;
    if (r % group_rows == 0) for (int64_t c = 0; c < 2 * cols; c++) gacc[c] = 0.0;
    const float *xr = x + r * cols, *dr = dy + r * cols, *sc = scale + g * cols;
    float *dxr = dx + r * cols;
    float mu = mean[r], rs = rstd[r];
    /* tmp: x̂, then dn, then dn·γ (the row sums below run on lanes: sg = Σ dn·γ, sgx = Σ dn·γ·x̂) */
    float *dng = tmp + 2 * cols;
    for (int64_t c = 0; c < cols; c++) {
      float xh = (xr[c] - mu) * rs;
      float dn = dr[c] * (1.0f + sc[c]);
      tmp[c] = xh;
      tmp[cols + c] = dn;
      dng[c] = dn * gamma[c];
      gs[c] += (double)(dr[c] * (xh * gamma[c] + beta[c]));
      gh[c] += (double)dr[c];
      ag[c] += (double)(dn * xh);
      ab[c] += (double)dn;
    }
    float mg = sum_lanes(dng, cols) / (float)cols, mgx = dot_lanes(dng, tmp, cols) / (float)cols;
    for (int64_t c = 0; c < cols; c++) dxr[c] = rs * (tmp[cols + c] * gamma[c] - mg - tmp[c] * mgx);
    if (r % group_rows == group_rows - 1 || r == rows - 1) {
      for (int64_t c = 0; c < cols; c++) {
        dscale[g * cols + c] = (float)gs[c];
        dshift[g * cols + c] = (float)gh[c];
      }
    }
  }
  for (int64_t c = 0; c < cols; c++) {
    dgamma[c] = (float)ag[c];
    dbeta[c] = (float)ab[c];
  }
}

/* y = x + gate_g ⊙ a. */
HOT static void gated_residual_fwd(const float *x, const float *gate, const float *a, float *y, int64_t rows,
                                   int64_t cols, int64_t group_rows) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols, *ar = a + r * cols, *gr = gate + (r / group_rows) * cols;
    float *yr = y + r * cols;
    for (int64_t c = 0; c < cols; c++) yr[c] = xr[c] + gr[c] * ar[c];
  }
}

/* da = dy ⊙ gate_g, dgate_g = Σ_{r∈g} dy ⊙ a (double per group: gacc, cols). dx = dy needs no pass. */
HOT static void gated_residual_bwd(const float *gate, const float *a, const float *dy, float *da, float *dgate,
                                   int64_t rows, int64_t cols, int64_t group_rows, double *gacc) {
  for (int64_t r = 0; r < rows; r++) {
    int64_t g = r / group_rows;
    if (r % group_rows == 0) for (int64_t c = 0; c < cols; c++) gacc[c] = 0.0;
    const float *ar = a + r * cols, *dr = dy + r * cols, *gr = gate + g * cols;
    float *dar = da + r * cols;
    for (int64_t c = 0; c < cols; c++) {
      dar[c] = dr[c] * gr[c];
      gacc[c] += (double)(dr[c] * ar[c]);
    }
    if (r % group_rows == group_rows - 1 || r == rows - 1)
      for (int64_t c = 0; c < cols; c++) dgate[g * cols + c] = (float)gacc[c];
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Training-step helpers over many tensors at once (one kernel call instead of two per tensor).   */

/* Σ x² in double, 8 lanes so that the loop pipelines. */
HOT static double sum_squares(const float *x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) s[l] += (double)x[i + l] * (double)x[i + l];
  double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) t += (double)x[i] * (double)x[i];
  return t;
}

/* Number of NaN or ±∞ elements. */
HOT static int64_t count_non_finite(const float *x, int64_t n) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; i++) c += !(fabsf(x[i]) <= 3.40282347e38f);
  return c;
}

/* ------------------------------------------------------------------------------------------ */
/* N-API glue (napi_args.h).                                                                   */

/* Common size checks: rows = groups·group_rows, x-like arrays rows·cols, per-group arrays groups·cols. */
#define TF_GROUPS(rows, cols, group_rows)                                      \
  NEED((rows) >= 0 && (cols) >= 1 && (group_rows) >= 1 && (rows) % (group_rows) == 0); \
  int64_t groups = (rows) / (group_rows);

/* layerNormModulate(x, gamma, beta, scale, shift, y, mean, rstd, rows, cols, groupRows, eps) */
static napi_value js_ln_modulate(napi_env env, napi_callback_info info) {
  ARGS(12);
  F32_SET(0, x, lenX);
  F32_SET(1, gamma, lenG);
  F32_SET(2, beta, lenB);
  F32_SET(3, scale, lenS);
  F32_SET(4, shift, lenH);
  F32_SET(5, y, lenY);
  F32_SET(6, mean, lenM);
  F32_SET(7, rstd, lenR);
  int64_t rows = get_i64(env, argv[8]), cols = get_i64(env, argv[9]), group_rows = get_i64(env, argv[10]);
  double eps = 0;
  napi_get_value_double(env, argv[11], &eps);
  TF_GROUPS(rows, cols, group_rows);
  NEED((int64_t)lenX == rows * cols && (int64_t)lenY == rows * cols && (int64_t)lenM == rows && (int64_t)lenR == rows);
  NEED((int64_t)lenG == cols && (int64_t)lenB == cols && (int64_t)lenS == groups * cols && (int64_t)lenH == groups * cols);
  ln_modulate_fwd(x, gamma, beta, scale, shift, y, mean, rstd, rows, cols, group_rows, (float)eps);
  return NULL;
}

/* layerNormModulateGrad(x, gamma, beta, scale, mean, rstd, dy, dx, dgamma, dbeta, dscale, dshift, rows, cols, groupRows) */
static napi_value js_ln_modulate_grad(napi_env env, napi_callback_info info) {
  ARGS(15);
  F32_SET(0, x, lenX);
  F32_SET(1, gamma, lenG);
  F32_SET(2, beta, lenB);
  F32_SET(3, scale, lenS);
  F32_SET(4, mean, lenM);
  F32_SET(5, rstd, lenR);
  F32_SET(6, dy, lenD);
  F32_SET(7, dx, lenDx);
  F32_SET(8, dgamma, lenDg);
  F32_SET(9, dbeta, lenDb);
  F32_SET(10, dscale, lenDs);
  F32_SET(11, dshift, lenDh);
  int64_t rows = get_i64(env, argv[12]), cols = get_i64(env, argv[13]), group_rows = get_i64(env, argv[14]);
  TF_GROUPS(rows, cols, group_rows);
  NEED((int64_t)lenX == rows * cols && (int64_t)lenD == rows * cols && (int64_t)lenDx == rows * cols);
  NEED((int64_t)lenM == rows && (int64_t)lenR == rows && (int64_t)lenG == cols && (int64_t)lenB == cols);
  NEED((int64_t)lenDg == cols && (int64_t)lenDb == cols);
  NEED((int64_t)lenS == groups * cols && (int64_t)lenDs == groups * cols && (int64_t)lenDh == groups * cols);
  double *acc = (double *)malloc((size_t)(4 * cols) * sizeof(double));
  float *tmp = (float *)malloc((size_t)(3 * cols) * sizeof(float)); /* x̂, dn and dn·γ of one row */
  if (!acc || !tmp) {
    free(acc);
    free(tmp);
    napi_throw_error(env, NULL, "epg_tensor_native: out of memory");
    return NULL;
  }
  ln_modulate_bwd(x, gamma, beta, scale, mean, rstd, dy, dx, dgamma, dbeta, dscale, dshift, rows, cols, group_rows, acc,
                  acc + 2 * cols, tmp);
  free(acc);
  free(tmp);
  return NULL;
}

/* gatedResidual(x, gate, a, y, rows, cols, groupRows) */
static napi_value js_gated_residual(napi_env env, napi_callback_info info) {
  ARGS(7);
  F32_SET(0, x, lenX);
  F32_SET(1, gate, lenG);
  F32_SET(2, a, lenA);
  F32_SET(3, y, lenY);
  int64_t rows = get_i64(env, argv[4]), cols = get_i64(env, argv[5]), group_rows = get_i64(env, argv[6]);
  TF_GROUPS(rows, cols, group_rows);
  NEED((int64_t)lenX == rows * cols && (int64_t)lenA == rows * cols && (int64_t)lenY == rows * cols);
  NEED((int64_t)lenG == groups * cols);
  gated_residual_fwd(x, gate, a, y, rows, cols, group_rows);
  return NULL;
}

/* gatedResidualGrad(gate, a, dy, da, dgate, rows, cols, groupRows) */
static napi_value js_gated_residual_grad(napi_env env, napi_callback_info info) {
  ARGS(8);
  F32_SET(0, gate, lenG);
  F32_SET(1, a, lenA);
  F32_SET(2, dy, lenD);
  F32_SET(3, da, lenDa);
  F32_SET(4, dgate, lenDg);
  int64_t rows = get_i64(env, argv[5]), cols = get_i64(env, argv[6]), group_rows = get_i64(env, argv[7]);
  TF_GROUPS(rows, cols, group_rows);
  NEED((int64_t)lenA == rows * cols && (int64_t)lenD == rows * cols && (int64_t)lenDa == rows * cols);
  NEED((int64_t)lenG == groups * cols && (int64_t)lenDg == groups * cols);
  double *gacc = (double *)malloc((size_t)cols * sizeof(double));
  if (!gacc) {
    napi_throw_error(env, NULL, "epg_tensor_native: out of memory");
    return NULL;
  }
  gated_residual_bwd(gate, a, dy, da, dgate, rows, cols, group_rows, gacc);
  free(gacc);
  return NULL;
}

/* The length of a JS array, or 0 (returned) when v is not one. */
static int list_len(napi_env env, napi_value v, uint32_t *n) {
  bool is_array = false;
  return napi_is_array(env, v, &is_array) == napi_ok && is_array && napi_get_array_length(env, v, n) == napi_ok;
}

/* Entry i of a JS array as a Float32Array (its data may be NULL only when empty), or 0. */
static int list_f32(napi_env env, napi_value list, uint32_t i, float **x, size_t *len) {
  napi_value el;
  return napi_get_element(env, list, i, &el) == napi_ok && get_f32(env, el, x, len) && (*x != NULL || *len == 0);
}

/* perTensor(kind, list: Float32Array[], out: Float64Array): kind 0 = Σx², 1 = count of non-finite. */
static napi_value js_per_tensor(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t kind = get_i64(env, argv[0]);
  uint32_t n = 0;
  if (!list_len(env, argv[1], &n)) {
    napi_throw_type_error(env, NULL, "epg_tensor_native: perTensor needs an array of Float32Arrays");
    return NULL;
  }
  F64(2, o, lenO);
  NEED(lenO >= n && (kind == 0 || kind == 1));
  for (uint32_t i = 0; i < n; i++) {
    float *x;
    size_t len;
    if (!list_f32(env, argv[1], i, &x, &len)) {
      napi_throw_type_error(env, NULL, "epg_tensor_native: perTensor list entries must be Float32Arrays");
      return NULL;
    }
    o[i] = kind == 0 ? sum_squares(x, (int64_t)len) : (double)count_non_finite(x, (int64_t)len);
  }
  return NULL;
}

/* o = a·wa + b·wb elementwise (the EMA θ⁻·μ + θ·(1 − μ)). */
HOT static void lerp(const float *a, const float *b, float *o, int64_t n, float wa, float wb) {
  for (int64_t i = 0; i < n; i++) o[i] = a[i] * wa + b[i] * wb;
}

/* emaEach(targets[], sources[], outs[], decay): outs[i] = targets[i]·decay + sources[i]·(1 − decay), one call for a list. */
static napi_value js_ema_each(napi_env env, napi_callback_info info) {
  ARGS(4);
  uint32_t n = 0, ns = 0, no = 0;
  if (!list_len(env, argv[0], &n) || !list_len(env, argv[1], &ns) || !list_len(env, argv[2], &no)) {
    napi_throw_type_error(env, NULL, "epg_tensor_native: emaEach needs three arrays of Float32Arrays");
    return NULL;
  }
  NEED(ns == n && no == n);
  double decay = get_f64(env, argv[3]);
  NEED(decay >= 0.0 && decay <= 1.0);
  for (uint32_t i = 0; i < n; i++) {
    float *t, *src, *o;
    size_t lt, ls, lo;
    if (!list_f32(env, argv[0], i, &t, &lt) || !list_f32(env, argv[1], i, &src, &ls) || !list_f32(env, argv[2], i, &o, &lo)) {
      napi_throw_type_error(env, NULL, "epg_tensor_native: emaEach list entries must be Float32Arrays");
      return NULL;
    }
    NEED(ls == lt && lo == lt);
    lerp(t, src, o, (int64_t)lt, (float)decay, (float)(1.0 - decay));
  }
  return NULL;
}

napi_status epg_register_transformer(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"layerNormModulate", NULL, js_ln_modulate, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormModulateGrad", NULL, js_ln_modulate_grad, NULL, NULL, NULL, napi_default, NULL},
      {"gatedResidual", NULL, js_gated_residual, NULL, NULL, NULL, napi_default, NULL},
      {"gatedResidualGrad", NULL, js_gated_residual_grad, NULL, NULL, NULL, napi_default, NULL},
      {"perTensor", NULL, js_per_tensor, NULL, NULL, NULL, napi_default, NULL},
      {"emaEach", NULL, js_ema_each, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
