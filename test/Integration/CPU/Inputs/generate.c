/* SPDX-License-Identifier: Apache-2.0
 *
 * A C program that uses Nova's AOT artifacts for the small Grok-shaped
 * model: it includes the generated header, links the generated object and
 * the runtime, loads the checkpoint through the C API, prefills an 8-token
 * prompt and decodes, printing the tokens like `nova-run --generate`.
 *
 * usage: generate CHECKPOINT N_TOKENS SEED
 */
#include "model.h"
#include "nova/runtime/nova_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(const struct nova_arg_info *info, int n, const char *name) {
  for (int i = 0; i < n; ++i)
    if (strcmp(info[i].name, name) == 0)
      return i;
  return -1;
}

/* Buffers of one call, in ABI order; parameters point into the checkpoint. */
static int bind(const struct nova_arg_info *info, int n, void **args,
                nova_checkpoint *ckpt) {
  for (int i = 0; i < n; ++i) {
    if (info[i].kind == NOVA_ARG_PARAM) {
      size_t bytes = 0;
      args[i] = (void *)nova_checkpoint_tensor(ckpt, info[i].name, &bytes, NULL,
                                               NULL, NULL);
      if (!args[i] || (int64_t)bytes != info[i].bytes) {
        fprintf(stderr, "checkpoint lacks %s or has the wrong size\n",
                info[i].name);
        return 0;
      }
    } else {
      args[i] = calloc(1, (size_t)info[i].bytes + 1);
    }
  }
  return 1;
}

/* Frees the buffers bind() allocated (parameters belong to the checkpoint). */
static void unbind(const struct nova_arg_info *info, int n, void **args) {
  for (int i = 0; i < n; ++i)
    if (info[i].kind != NOVA_ARG_PARAM)
      free(args[i]);
}

static void set_i32(void **args, const struct nova_arg_info *info, int n,
                    const char *name, int index, int32_t v) {
  ((int32_t *)args[find(info, n, name)])[index] = v;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CHECKPOINT N_TOKENS SEED\n", argv[0]);
    return 2;
  }
  char error[512];
  nova_checkpoint *ckpt = nova_checkpoint_open(argv[1], error, sizeof error);
  if (!ckpt) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  int tokens = atoi(argv[2]);
  int64_t seed = atoll(argv[3]);
  const struct nova_arg_info *pi = nova_prefill_arg_info,
                             *di = nova_decode_arg_info;
  int pn = NOVA_PREFILL_NUM_ARGS, dn = NOVA_DECODE_NUM_ARGS;
  void *pa[NOVA_PREFILL_NUM_ARGS], *da[NOVA_DECODE_NUM_ARGS];
  if (!bind(pi, pn, pa, ckpt) || !bind(di, dn, da, ckpt))
    return 1;

  /* Prefill the prompt 1..8 at positions 0..7. */
  for (int t = 0; t < 8; ++t) {
    set_i32(pa, pi, pn, "tokens", t, t + 1);
    set_i32(pa, pi, pn, "positions", t, t);
  }
  ((float *)pa[find(pi, pn, "temperature")])[0] = 0.8f;
  ((float *)pa[find(pi, pn, "top_p")])[0] = 0.95f;
  ((int64_t *)pa[find(pi, pn, "seed")])[0] = seed;
  nova_prefill_args(pa);

  /* The prefill's output caches feed the first decode step (the outputs
   * follow the inputs in the table, so names resolve to the first match:
   * look the outputs up from their position). */
  int next = ((int32_t *)pa[pn - 7])[0]; /* output "token" */
  printf("generated (aot, batch 1, seed %lld): %d", (long long)seed, next);
  void *kc = pa[pn - 2], *vc = pa[pn - 1];
  for (int step = 1; step < tokens; ++step) {
    set_i32(da, di, dn, "tokens", 0, next);
    set_i32(da, di, dn, "positions", 0, 7 + step);
    memcpy(da[find(di, dn, "k_cache")], kc,
           (size_t)di[find(di, dn, "k_cache")].bytes);
    memcpy(da[find(di, dn, "v_cache")], vc,
           (size_t)di[find(di, dn, "v_cache")].bytes);
    ((float *)da[find(di, dn, "temperature")])[0] = 0.8f;
    ((float *)da[find(di, dn, "top_p")])[0] = 0.95f;
    ((int64_t *)da[find(di, dn, "seed")])[0] = seed;
    set_i32(da, di, dn, "step", 0, step);
    nova_decode_args(da);
    next = ((int32_t *)da[dn - 7])[0];
    kc = da[dn - 2];
    vc = da[dn - 1];
    printf(" %d", next);
  }
  printf("\n");
  unbind(pi, pn, pa);
  unbind(di, dn, da);
  nova_checkpoint_close(ckpt);
  return 0;
}
