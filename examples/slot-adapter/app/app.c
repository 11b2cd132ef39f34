/* SPDX-License-Identifier: Apache-2.0
 *
 * A slot-adapter application: it links the kernels Nova generated from
 * ../model.yaml (the header adapter.h, the prefix adapter_), loads the
 * weights from a safetensors checkpoint through Nova's runtime, runs one
 * batch of 4 rows and prints the sampled tokens and their probabilities in
 * nova-run's format. It also writes the inputs it used as .npy files into
 * OUTDIR, so `nova-run --backend interp` can check the same call.
 *
 * Built with -DSLOT_ADAPTER_TARGET=cuda the kernels are CUDA kernels
 * (docs/cuda.md): every buffer is then managed memory from nova_cuda_alloc
 * and a CUDA failure is reported after the call.
 *
 * usage: slot-adapter-app CHECKPOINT SEED OUTDIR
 */
#include "adapter.h"
#include "nova/runtime/nova_runtime.h"
#ifdef NOVA_SLOT_ADAPTER_CUDA
#include "nova/runtime/nova_cuda.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(const char *name) {
  for (int i = 0; i < ADAPTER_FORWARD_NUM_ARGS; ++i)
    if (strcmp(adapter_forward_arg_info[i].name, name) == 0)
      return i;
  fprintf(stderr, "the adapter has no argument '%s'\n", name);
  exit(1);
}

/* A little-endian .npy file of `count` elements ("<f4" or "<i4"). */
static int write_npy(const char *dir, const char *name, const char *descr,
                     const int64_t *shape, int rank, const void *data,
                     size_t bytes) {
  char path[4096], header[256], dims[128] = "";
  for (int d = 0; d < rank; ++d)
    snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%lld, ",
             (long long)shape[d]);
  int n = snprintf(header, sizeof header,
                   "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                   descr, dims);
  int total = (10 + n + 1 + 63) / 64 * 64; /* magic+version+len, '\n' */
  memset(header + n, ' ', (size_t)(total - 10 - n - 1));
  header[total - 10 - 1] = '\n';
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  unsigned char len[2] = {(unsigned char)((total - 10) & 255),
                          (unsigned char)((total - 10) >> 8)};
  int ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 &&
           fwrite(len, 1, 2, f) == 2 &&
           fwrite(header, 1, (size_t)(total - 10), f) == (size_t)(total - 10) &&
           fwrite(data, 1, bytes, f) == bytes;
  return fclose(f) == 0 && ok;
}

/* A zeroed buffer the kernels can use (NULL when there is none). */
static void *buffer(size_t bytes) {
#ifdef NOVA_SLOT_ADAPTER_CUDA
  void *p = nova_cuda_alloc(bytes);
  if (p)
    memset(p, 0, bytes);
  return p;
#else
  return calloc(1, bytes);
#endif
}

static void release(void *p) {
#ifdef NOVA_SLOT_ADAPTER_CUDA
  nova_cuda_free(p);
#else
  free(p);
#endif
}

static float bf16_to_float(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CHECKPOINT SEED OUTDIR\n", argv[0]);
    return 2;
  }
  char error[512];
  nova_checkpoint *ckpt = nova_checkpoint_open(argv[1], error, sizeof error);
  if (!ckpt) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  const struct nova_arg_info *info = adapter_forward_arg_info;
  void *args[ADAPTER_FORWARD_NUM_ARGS];
  for (int i = 0; i < ADAPTER_FORWARD_NUM_ARGS; ++i) {
    if (info[i].kind == NOVA_ARG_PARAM) {
      size_t bytes = 0;
      const void *weights =
          nova_checkpoint_tensor(ckpt, info[i].name, &bytes, NULL, NULL, NULL);
      if (!weights || (int64_t)bytes != info[i].bytes) {
        fprintf(stderr, "the checkpoint lacks '%s' or has the wrong size\n",
                info[i].name);
        return 1;
      }
#ifdef NOVA_SLOT_ADAPTER_CUDA
      /* The device cannot read the checkpoint's mapping: a managed copy. */
      args[i] = buffer(bytes);
      if (args[i])
        memcpy(args[i], weights, bytes);
#else
      args[i] = (void *)weights;
#endif
    } else {
      args[i] = buffer((size_t)info[i].bytes + 1);
    }
    if (!args[i]) {
      fprintf(stderr, "cannot allocate '%s'\n", info[i].name);
#ifdef NOVA_SLOT_ADAPTER_CUDA
      fprintf(stderr, "error: %s\n", nova_cuda_error());
#endif
      return 1;
    }
  }

  /* Hidden states in eighths (exact in bf16), every token allowed except
   * every seventh, one temperature and top_p per row. */
  int h = find("hidden"), m = find("mask");
  int64_t rows = info[h].shape[0], dim = info[h].shape[1];
  int64_t vocab = info[m].shape[1];
  float *hidden = malloc(sizeof(float) * (size_t)(rows * dim));
  for (int64_t i = 0; i < rows * dim; ++i) {
    hidden[i] = (float)((i * 37) % 17 - 8) / 8.0f;
    uint32_t bits;
    memcpy(&bits, &hidden[i], sizeof bits);
    ((uint16_t *)args[h])[i] = (uint16_t)(bits >> 16);
  }
  int32_t *mask = args[m];
  for (int64_t i = 0; i < rows * vocab; ++i)
    mask[i] = (i % vocab) % 7 != 3;
  float *temperature = args[find("temperature")], *top_p = args[find("top_p")];
  for (int64_t r = 0; r < rows; ++r) {
    temperature[r] = 0.5f + 0.25f * (float)r;
    top_p[r] = 0.9f;
  }
  *(int64_t *)args[find("seed")] = atoll(argv[2]);
  *(int32_t *)args[find("step")] = 0;

  adapter_forward_args(args);
#ifdef NOVA_SLOT_ADAPTER_CUDA
  if (*nova_cuda_error()) {
    fprintf(stderr, "error: %s\n", nova_cuda_error());
    return 1;
  }
  fprintf(stderr, "kernels: cuda on %s\n", nova_cuda_device_name());
#else
  /* The instruction-set tier the kernels ran (NOVA_CPU_TIER picks one). */
  fprintf(stderr, "kernels: %s\n", adapter_cpu_tier());
#endif

  int64_t mshape[2] = {rows, vocab};
  if (!write_npy(argv[3], "hidden", "<f4", info[h].shape, 2, hidden,
                 sizeof(float) * (size_t)(rows * dim)) ||
      !write_npy(argv[3], "mask", "<i4", mshape, 2, mask,
                 sizeof(int32_t) * (size_t)(rows * vocab)) ||
      !write_npy(argv[3], "temperature", "<f4", &rows, 1, temperature,
                 sizeof(float) * (size_t)rows)) {
    fprintf(stderr, "cannot write the inputs to '%s'\n", argv[3]);
    return 1;
  }
  const int32_t *token = args[find("token")];
  const uint16_t *prob = args[find("prob")];
  printf("token = i32[%lld] [", (long long)rows);
  for (int64_t r = 0; r < rows; ++r)
    printf("%s%d", r ? ", " : "", token[r]);
  printf("]\nprob = bf16[%lld] [", (long long)rows);
  for (int64_t r = 0; r < rows; ++r)
    printf("%s%g", r ? ", " : "", (double)bf16_to_float(prob[r]));
  printf("]\n");

  for (int i = 0; i < ADAPTER_FORWARD_NUM_ARGS; ++i)
#ifdef NOVA_SLOT_ADAPTER_CUDA
    release(args[i]);
#else
    if (info[i].kind != NOVA_ARG_PARAM)
      release(args[i]);
#endif
  free(hidden);
  nova_checkpoint_close(ckpt);
  return 0;
}
