/*
 * N-API argument glue shared by the addon's C files (kernels.c, fused_transformer.c, conv_extra.c):
 * typed-array and number readers, the argument/size-check macros every entry point starts with, the
 * convolution geometry, and the `HOT` multi-versioning attribute. Everything is `static` or a macro,
 * so each file gets its own copy at compile time and no symbol crosses files.
 *
 * Conventions: a reader returns 1 on success and 0 on a wrong type; the macros throw a JS error
 * naming the argument and return NULL from the calling entry point.
 */
#ifndef EPG_NAPI_ARGS_H
#define EPG_NAPI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/* Hot loops compiled for AVX-512, AVX2 and baseline x86-64, picked at load time (GCC >= 12, Linux). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 12
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT
#endif

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error(env, NULL, "epg_tensor_native: " #call " failed"); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

/* A typed array of type `want` (data and element count), or null/undefined when allow_null (data NULL). */
static inline int get_typed(napi_env env, napi_value v, napi_typedarray_type want, bool allow_null, void **data, size_t *len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_null || t == napi_undefined) {
    if (!allow_null) return 0;
    *data = NULL;
    *len = 0;
    return 1;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) return 0;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) != napi_ok || tt != want) return 0;
  return 1;
}

/* Float32Array, or null/undefined (data NULL, length 0): optional inputs such as a missing bias. */
static inline int get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  return get_typed(env, v, napi_float32_array, true, (void **)data, len);
}

/* Int32Array (never null). */
static inline int get_i32arr(napi_env env, napi_value v, int32_t **data, size_t *len) {
  return get_typed(env, v, napi_int32_array, false, (void **)data, len);
}

static inline int64_t get_i64(napi_env env, napi_value v) {
  int64_t r = 0;
  napi_get_value_int64(env, v, &r);
  return r;
}

static inline double get_f64(napi_env env, napi_value v) {
  double r = 0;
  napi_get_value_double(env, v, &r);
  return r;
}

static inline bool get_bool(napi_env env, napi_value v) {
  bool r = false;
  napi_get_value_bool(env, v, &r);
  return r;
}

/* Declares argv[N] and fails unless at least N arguments were passed. */
#define ARGS(N)                                                                   \
  size_t argc = N;                                                                \
  napi_value argv[N];                                                             \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                    \
  if (argc < N) {                                                                 \
    napi_throw_error(env, NULL, "epg_tensor_native: expected " #N " arguments"); \
    return NULL;                                                                  \
  }

/* `ctype *name` and `size_t lenname` from argument i: a typed array of `tatype` (null too when allow_null). */
#define TYPED_ARG(i, ctype, name, lenname, tatype, allow_null, what)                               \
  ctype *name;                                                                                    \
  size_t lenname;                                                                                 \
  if (!get_typed(env, argv[i], tatype, allow_null, (void **)&name, &lenname)) {                   \
    napi_throw_type_error(env, NULL, "epg_tensor_native: argument " #i " must be " what);         \
    return NULL;                                                                                  \
  }

/* A Float32Array or null (name NULL): optional inputs such as a missing bias. */
#define F32(i, name, lenname) TYPED_ARG(i, float, name, lenname, napi_float32_array, true, "a Float32Array")
/* As F32, but null is refused too. */
#define F32_SET(i, name, lenname) TYPED_ARG(i, float, name, lenname, napi_float32_array, false, "a Float32Array")
/* A Float64Array (null refused). */
#define F64(i, name, lenname) TYPED_ARG(i, double, name, lenname, napi_float64_array, false, "a Float64Array")
/* An Int32Array (null refused). */
#define I32(i, name, lenname) TYPED_ARG(i, int32_t, name, lenname, napi_int32_array, false, "an Int32Array")

#define NEED(cond)                                                                     \
  if (!(cond)) {                                                                       \
    napi_throw_range_error(env, NULL, "epg_tensor_native: size check failed: " #cond); \
    return NULL;                                                                       \
  }

/* NHWC convolution geometry: input [B, H, W, C], filter [KH, KW, C, O], strides, dilations, top/left pads, output size. */
typedef struct {
  int64_t B, H, W, C, O, KH, KW, sh, sw, dh, dw, pt, pl, OH, OW;
} ConvGeom;

/* Reads a 15-int geometry [B, H, W, C, O, KH, KW, sh, sw, dh, dw, pt, pl, OH, OW] and checks it. */
static inline int get_geom(napi_env env, napi_value v, ConvGeom *g) {
  int32_t *p;
  size_t n;
  if (!get_i32arr(env, v, &p, &n) || n != 15) return 0;
  int64_t *f = &g->B;
  for (int i = 0; i < 15; i++) f[i] = p[i];
  return g->B >= 0 && g->H >= 1 && g->W >= 1 && g->C >= 1 && g->O >= 1 && g->KH >= 1 && g->KW >= 1 && g->sh >= 1 &&
         g->sw >= 1 && g->dh >= 1 && g->dw >= 1 && g->OH >= 0 && g->OW >= 0;
}

/* `ConvGeom g` from argument i. */
#define GEOM(i)                                                                                                        \
  ConvGeom g;                                                                                                          \
  if (!get_geom(env, argv[i], &g)) {                                                                                   \
    napi_throw_range_error(env, NULL, "epg_tensor_native: convolution geometry must be an Int32Array of 15 valid sizes"); \
    return NULL;                                                                                                       \
  }

#endif /* EPG_NAPI_ARGS_H */
