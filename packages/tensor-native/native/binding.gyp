{
  "targets": [
    {
      "target_name": "epg_tensor_native",
      "sources": ["kernels.c", "fused_transformer.c", "conv_extra.c", "winograd.c"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2"],
      "libraries": ["-lopenblas"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-fno-math-errno"] }
    }
  ]
}
