/* Winograd F(4×4, 3×3) convolution (winograd.c). ConvGeom comes from napi_args.h. */
#ifndef EPG_WINOGRAD_H
#define EPG_WINOGRAD_H

/* Whether g is a 3×3, stride-1, undilated convolution wide enough (C, O ≥ 8) for Winograd to pay. */
int winograd_eligible(const ConvGeom *g);

/* y[B, OH, OW, O] = conv(x, w) (+ bias, then ReLU when relu), as conv2d_fwd; transposed reads the
   filter as w[2-ky][2-kx][o][c] (the input gradient). Returns 0 when scratch memory ran out. */
int winograd_conv3x3(const float *x, const float *w, const float *bias, int relu, float *y, const ConvGeom *g,
                     int transposed);

#endif
