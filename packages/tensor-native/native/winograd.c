/*
 * Winograd F(4×4, 3×3) convolution for NHWC input and HWIO filters, stride 1, no dilation, any
 * padding (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016, §4-5):
 * each 4×4 block of outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 6×6 input tile d, so the 36
 * element-wise products, summed over input channels, are 36 GEMMs [tiles, C]·[C, O]. That is
 * 36 multiplies per 16 outputs per (c, o) pair instead of im2col's 144: 4× fewer.
 *
 * The transforms run on vectors of channels (NHWC keeps them contiguous); the filter is transformed
 * once per call (vectorised over output channels). Tiles are processed in blocks small enough that the transformed
 * inputs and products stay in cache between the transforms and the GEMMs.
 *
 * The input gradient of such a convolution is the same convolution of dy with the filter rotated by
 * 180° and its channel axes swapped, padded by 2 − pad (`winograd_conv3x3(..., transposed = 1)`).
 *
 * Rounding differs from im2col (the transforms add and subtract values up to ≈ 10× the inputs), so
 * results agree with the stock kernel to ≈ 1e-5 relative to the output scale, not bit for bit; the
 * `convAlgorithm('im2col')` switch of the addon turns it off. A NaN or ±∞ input spreads to every
 * output of the 4×4 tiles whose 6×6 input tile holds it (im2col: only to the outputs whose 3×3
 * window holds it); either way the result is not finite, which is what the training steps check.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "napi_args.h"
#include "winograd.h"

#define WA 6  /* input tile side */
#define WM 4  /* output tile side */
#define WX 36 /* WA * WA */

int winograd_eligible(const ConvGeom *g) {
  return g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->C >= 8 && g->O >= 8 &&
         g->OH >= 2 && g->OW >= 2 && g->B > 0;
}

/* G along one axis: three vectors of n floats (stride s) to six (stride so). */
#define G3(in, s, out, so, n)                                                             \
  for (int64_t o = 0; o < (n); o++) {                                                     \
    float g0 = (in)[0 * (s) + o], g1 = (in)[1 * (s) + o], g2 = (in)[2 * (s) + o];         \
    float e = g0 + g2, q = g0 * (1.0f / 24) + g2 * (1.0f / 6);                             \
    (out)[0 * (so) + o] = g0 * 0.25f;                                                     \
    (out)[1 * (so) + o] = (e + g1) * (-1.0f / 6);                                         \
    (out)[2 * (so) + o] = (e - g1) * (-1.0f / 6);                                         \
    (out)[3 * (so) + o] = q + g1 * (1.0f / 12);                                           \
    (out)[4 * (so) + o] = q - g1 * (1.0f / 12);                                           \
    (out)[5 * (so) + o] = g2;                                                             \
  }

/*
 * U[ξ][c][o] = (G g Gᵀ)[ξ] for each (c, o), ξ = 6·i + j, vectorised over o. w is [3][3][C][O];
 * transposed reads g[ky][kx][c][o] = w[2-ky][2-kx][o][c] (wt: 9·C·O floats of scratch for it).
 */
HOT static void filter_transform(const float *w, float *U, int64_t C, int64_t O, int transposed, float *wt,
                                 float *tmp) {
  if (transposed) {
    /* here w is [3][3][O][C]: rotate by 180° and swap the channel axes */
    for (int k = 0; k < 9; k++)
      for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) wt[(k * C + c) * O + o] = w[((8 - k) * O + o) * C + c];
    w = wt;
  }
  const int64_t tap = C * O; /* between (ky, kx) planes of w */
  for (int64_t c = 0; c < C; c++) {
    const float *wc = w + c * O;
    /* tmp[i][kx][o] = Σ_ky G[i][ky] g[ky][kx][o] */
    for (int kx = 0; kx < 3; kx++) G3(wc + kx * tap, 3 * tap, tmp + kx * O, 3 * O, O);
    /* U[i·6 + j][c][o] = Σ_kx tmp[i][kx][o] G[j][kx] */
    for (int i = 0; i < WA; i++) G3(tmp + i * 3 * O, O, U + ((int64_t)i * WA * C + c) * O, C * O, O);
  }
}

/* Bᵀ applied along one axis: six vectors of n floats with stride s in, six out (stride so). */
#define BT6(in, s, out, so, n)                                                            \
  for (int64_t c = 0; c < (n); c++) {                                                     \
    float d0 = (in)[0 * (s) + c], d1 = (in)[1 * (s) + c], d2 = (in)[2 * (s) + c];         \
    float d3 = (in)[3 * (s) + c], d4 = (in)[4 * (s) + c], d5 = (in)[5 * (s) + c];         \
    (out)[0 * (so) + c] = 4.0f * d0 - 5.0f * d2 + d4;                                     \
    (out)[1 * (so) + c] = -4.0f * (d1 + d2) + d3 + d4;                                    \
    (out)[2 * (so) + c] = 4.0f * (d1 - d2) - d3 + d4;                                     \
    (out)[3 * (so) + c] = 2.0f * (d3 - d1) - d2 + d4;                                     \
    (out)[4 * (so) + c] = 2.0f * (d1 - d3) - d2 + d4;                                     \
    (out)[5 * (so) + c] = 4.0f * d1 - 5.0f * d3 + d5;                                     \
  }

/*
 * V[ξ][t][c] for tiles t0..t0+n of the tile grid (b, ty, tx): the 6×6 input tile at rows
 * 4·ty − pt .. +5 and columns 4·tx − pl .. +5, zero outside the image. d and tmp: 36·C floats each.
 */
HOT static void input_transform(const float *x, float *V, const ConvGeom *g, int64_t tiles_y, int64_t tiles_x,
                                int64_t t0, int64_t n, float *d, float *tmp) {
  const int64_t C = g->C;
  for (int64_t k = 0; k < n; k++) {
    int64_t t = t0 + k, tx = t % tiles_x, r = t / tiles_x, ty = r % tiles_y, b = r / tiles_y;
    int64_t iy0 = ty * WM - g->pt, ix0 = tx * WM - g->pl;
    const float *xb = x + b * g->H * g->W * C;
    int inside = iy0 >= 0 && ix0 >= 0 && iy0 + WA <= g->H && ix0 + WA <= g->W;
    const float *src;
    int64_t row_stride; /* between tile rows, in floats; columns are C apart */
    if (inside) {
      src = xb + (iy0 * g->W + ix0) * C;
      row_stride = g->W * C;
    } else {
      for (int i = 0; i < WA; i++) {
        int64_t iy = iy0 + i;
        for (int j = 0; j < WA; j++) {
          int64_t ix = ix0 + j;
          float *dst = d + (i * WA + j) * C;
          if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) memset(dst, 0, (size_t)C * sizeof(float));
          else memcpy(dst, xb + (iy * g->W + ix) * C, (size_t)C * sizeof(float));
        }
      }
      src = d;
      row_stride = WA * C;
    }
    /* columns: tmp[i][j] = Σ_k Bᵀ[i][k] src[k][j] (along rows of the tile) */
    for (int j = 0; j < WA; j++) BT6(src + j * C, row_stride, tmp + j * C, WA * C, C);
    /* rows: V[i·6 + j][k] = Σ_l tmp[i][l] Bᵀ[j][l] */
    float *v = V + k * C;
    int64_t vs = n * C; /* between ξ planes */
    for (int i = 0; i < WA; i++) BT6(tmp + i * WA * C, C, v + (int64_t)i * WA * vs, vs, C);
  }
}

/* Aᵀ along one axis: six vectors of n floats (stride s) to four (stride so). */
#define AT6(in, s, out, so, n)                                                            \
  for (int64_t c = 0; c < (n); c++) {                                                     \
    float m0 = (in)[0 * (s) + c], m1 = (in)[1 * (s) + c], m2 = (in)[2 * (s) + c];         \
    float m3 = (in)[3 * (s) + c], m4 = (in)[4 * (s) + c], m5 = (in)[5 * (s) + c];         \
    float p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;                     \
    (out)[0 * (so) + c] = m0 + p12 + p34;                                                 \
    (out)[1 * (so) + c] = d12 + 2.0f * d34;                                               \
    (out)[2 * (so) + c] = p12 + 4.0f * p34;                                               \
    (out)[3 * (so) + c] = d12 + 8.0f * d34 + m5;                                          \
  }

/* y tiles t0..t0+n from M[ξ][t][o]: Aᵀ M A, + bias, ReLU; rows/columns past the output are dropped. */
HOT static void output_transform(const float *M, float *y, const float *bias, int relu, const ConvGeom *g,
                                 int64_t tiles_y, int64_t tiles_x, int64_t t0, int64_t n, float *tmp, float *out) {
  const int64_t O = g->O;
  for (int64_t k = 0; k < n; k++) {
    int64_t t = t0 + k, tx = t % tiles_x, r = t / tiles_x, ty = r % tiles_y, b = r / tiles_y;
    const float *m = M + k * O;
    int64_t ms = n * O;
    /* tmp[i][j] for i < 4, j < 6: Aᵀ along the tile's rows */
    for (int j = 0; j < WA; j++) AT6(m + j * ms, WA * ms, tmp + j * O, WA * O, O);
    /* out[i][j] for i, j < 4 */
    for (int i = 0; i < WM; i++) AT6(tmp + i * WA * O, O, out + i * WM * O, O, O);
    for (int i = 0; i < WM; i++) {
      int64_t oy = ty * WM + i;
      if (oy >= g->OH) break;
      for (int j = 0; j < WM; j++) {
        int64_t ox = tx * WM + j;
        if (ox >= g->OW) break;
        float *dst = y + ((b * g->OH + oy) * g->OW + ox) * O;
        const float *s = out + (i * WM + j) * O;
        if (bias) {
          if (relu)
            for (int64_t o = 0; o < O; o++) {
              float v = s[o] + bias[o];
              dst[o] = v > 0.0f ? v : (v != v ? v : 0.0f);
            }
          else
            for (int64_t o = 0; o < O; o++) dst[o] = s[o] + bias[o];
        } else if (relu) {
          for (int64_t o = 0; o < O; o++) dst[o] = s[o] > 0.0f ? s[o] : (s[o] != s[o] ? s[o] : 0.0f);
        } else {
          memcpy(dst, s, (size_t)O * sizeof(float));
        }
      }
    }
  }
}

/* Tiles per block: transformed inputs and products (36·(C + O) floats per tile) of about 4 MB. */
static int64_t tile_block(const ConvGeom *g, int64_t total) {
  int64_t per = WX * (g->C + g->O) * (int64_t)sizeof(float);
  int64_t n = ((int64_t)4 << 20) / per;
  if (n < 32) n = 32;
  return n < total ? n : total;
}

int winograd_conv3x3(const float *x, const float *w, const float *bias, int relu, float *y, const ConvGeom *g,
                     int transposed) {
  const int64_t C = g->C, O = g->O;
  const int64_t tiles_y = (g->OH + WM - 1) / WM, tiles_x = (g->OW + WM - 1) / WM, total = g->B * tiles_y * tiles_x;
  const int64_t block = tile_block(g, total);
  const int64_t wide = C > O ? C : O;
  float *U = malloc((size_t)(WX * C * O) * sizeof(float));
  float *V = malloc((size_t)(WX * block * C) * sizeof(float));
  float *M = malloc((size_t)(WX * block * O) * sizeof(float));
  float *scratch = malloc((size_t)(3 * WX * wide) * sizeof(float));
  float *wt = transposed ? malloc((size_t)(9 * C * O) * sizeof(float)) : NULL;
  if (!U || !V || !M || !scratch || (transposed && !wt)) {
    free(U), free(V), free(M), free(scratch), free(wt);
    return 0;
  }
  filter_transform(w, U, C, O, transposed, wt, scratch);
  free(wt);
  for (int64_t t0 = 0; t0 < total; t0 += block) {
    int64_t n = total - t0 < block ? total - t0 : block;
    input_transform(x, V, g, tiles_y, tiles_x, t0, n, scratch, scratch + WX * wide);
    for (int xi = 0; xi < WX; xi++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)O, (int)C, 1.0f, V + xi * n * C, (int)C,
                  U + xi * C * O, (int)O, 0.0f, M + xi * n * O, (int)O);
    output_transform(M, y, bias, relu, g, tiles_y, tiles_x, t0, n, scratch, scratch + WX * wide);
  }
  free(U), free(V), free(M), free(scratch);
  return 1;
}
