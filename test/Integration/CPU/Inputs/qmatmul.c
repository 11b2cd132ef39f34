/* SPDX-License-Identifier: Apache-2.0
 *
 * Calls an AOT-compiled quantized matmul whose column tiles run on OpenMP
 * threads and compares every output with a plain C evaluation of
 * nova.qmatmul's semantics: W = round_bf16(q * s[row block]), products of
 * two bf16 values (exact in f32), sequential f32 sum over k, one rounding of
 * the sum to bf16. Prints "ok" or the first mismatch.
 */
#include "qmatmul.h"

#include <stdio.h>
#include <string.h>

static float from_bf16(uint16_t v) {
  uint32_t bits = (uint32_t)v << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static uint16_t to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

static nova_bf16_t x[NOVA_QMATMUL_X_ELEMENTS], s[NOVA_QMATMUL_S_ELEMENTS];
static int8_t q[NOVA_QMATMUL_Q_ELEMENTS];
static nova_bf16_t y[NOVA_QMATMUL_OUT_Y_ELEMENTS];

int main(void) {
  const int K = 1024, N = 512, G = 8;
  uint32_t state = 12345;
  for (int i = 0; i < K; ++i) {
    state = state * 1664525u + 1013904223u;
    x[i] = to_bf16((float)((int)(state >> 16) % 2001 - 1000) / 500.0f);
  }
  for (int i = 0; i < K * N; ++i) {
    state = state * 1664525u + 1013904223u;
    q[i] = (int8_t)((int)(state >> 16) % 255 - 127);
  }
  for (int i = 0; i < G * N; ++i) {
    state = state * 1664525u + 1013904223u;
    s[i] = to_bf16(1e-3f + (float)((state >> 16) % 1000) * 2e-5f);
  }
  nova_qmatmul(x, q, s, y);
  for (int n = 0; n < N; ++n) {
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
      float w = from_bf16(to_bf16((float)q[k * N + n] *
                                  from_bf16(s[(k / (K / G)) * N + n])));
      acc = acc + from_bf16(x[k]) * w;
    }
    if (to_bf16(acc) != y[n]) {
      printf("mismatch at column %d: got 0x%04x, expected 0x%04x\n", n, y[n],
             to_bf16(acc));
      return 1;
    }
  }
  printf("ok: %d columns match\n", N);
  return 0;
}
