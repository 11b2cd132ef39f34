/* SPDX-License-Identifier: Apache-2.0
 *
 * Calls an AOT-compiled entry whose outputs are, in the IR, the same value
 * or a caller's buffer (Inputs/distinct-outputs.mlir), and checks that each
 * output buffer was written completely with its own contents. Prints "ok"
 * or the first mismatch.
 */
#include "distinct-outputs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static float x[NOVA_PASSTHROUGH_X_ELEMENTS] = {1, 2, 3, 4, -1, 0, 1, 0.5f};
static float cache[NOVA_PASSTHROUGH_CACHE_ELEMENTS] = {9, 8, 7, 6, 5, 4, 3, 2};
static float w[NOVA_PASSTHROUGH_PARAM_M_W_ELEMENTS] = {0.5f, -2, 3.25f, 1e-3f};
static float a[NOVA_PASSTHROUGH_OUT_A_ELEMENTS],
    b[NOVA_PASSTHROUGH_OUT_B_ELEMENTS];
static float cacheOut[NOVA_PASSTHROUGH_OUT_CACHE_OUT_ELEMENTS];
static float w1[NOVA_PASSTHROUGH_OUT_W1_ELEMENTS],
    w2[NOVA_PASSTHROUGH_OUT_W2_ELEMENTS];
static int32_t k1[NOVA_PASSTHROUGH_OUT_K1_ELEMENTS],
    k2[NOVA_PASSTHROUGH_OUT_K2_ELEMENTS];

static int same(const char *name, const void *got, const void *want,
                size_t bytes) {
  if (memcmp(got, want, bytes) == 0)
    return 1;
  printf("mismatch: %s\n", name);
  return 0;
}

int main(void) {
  /* Poison every output: a buffer the code never writes keeps it. */
  memset(a, 0xff, sizeof a);
  memset(b, 0xff, sizeof b);
  memset(cacheOut, 0xff, sizeof cacheOut);
  memset(w1, 0xff, sizeof w1);
  memset(w2, 0xff, sizeof w2);
  memset(k1, 0xff, sizeof k1);
  memset(k2, 0xff, sizeof k2);
  nova_passthrough(x, cache, w, a, b, cacheOut, w1, w2, k1, k2);
  for (int r = 0; r < 2; ++r) {
    float sum = 0;
    for (int c = 0; c < 4; ++c)
      sum += expf(x[r * 4 + c]);
    for (int c = 0; c < 4; ++c) {
      float want = expf(x[r * 4 + c]) / sum;
      if (!(fabsf(a[r * 4 + c] - want) <= 1e-6f)) {
        printf("mismatch: a[%d] = %g, expected %g\n", r * 4 + c, a[r * 4 + c],
               want);
        return 1;
      }
    }
  }
  const int32_t k[2] = {7, -3};
  if (!same("b", b, a, sizeof a) ||
      !same("cache_out", cacheOut, cache, sizeof cache) ||
      !same("w1", w1, w, sizeof w) || !same("w2", w2, w, sizeof w) ||
      !same("k1", k1, k, sizeof k) || !same("k2", k2, k, sizeof k))
    return 1;
  printf("ok: 7 outputs in 7 buffers\n");
  return 0;
}
