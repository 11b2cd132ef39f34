/* Runs nova_small (Inputs/small.mlir compiled with --target=cuda) on managed
 * buffers and checks both results exactly: on a GPU it prints "ok on
 * <device>", without one the runtime's error. Used by cuda-target.test and
 * test/gpu/run-on-device.sh. */
#include "nova/runtime/nova_cuda.h"
#include "small.h"
#include <stdio.h>

int main(void) {
  float *x = nova_cuda_alloc(4000), *v = nova_cuda_alloc(256);
  int8_t *q = nova_cuda_alloc(64000);
  nova_bf16_t *s = nova_cuda_alloc(2000);
  float *y = nova_cuda_alloc(4000), *m = nova_cuda_alloc(4000);
  if (!x || !v || !q || !s || !y || !m) {
    fprintf(stderr, "error: %s\n", nova_cuda_error());
    return 1;
  }
  for (int i = 0; i < 1000; ++i) {
    x[i] = (float)i;
    s[i] = 0x3f80; /* bf16 1.0 */
  }
  for (int i = 0; i < 64000; ++i)
    q[i] = (int8_t)(i % 7 - 3);
  for (int k = 0; k < 64; ++k)
    v[k] = 1.0f;
  nova_small(x, q, s, v, y, m);
  if (*nova_cuda_error()) {
    fprintf(stderr, "error: %s\n", nova_cuda_error());
    return 1;
  }
  for (int i = 0; i < 1000; ++i) {
    float want = 0;
    for (int k = 0; k < 64; ++k)
      want += (float)((k * 1000 + i) % 7 - 3);
    if (y[i] != 2.0f * (float)i || m[i] != want) {
      fprintf(stderr, "mismatch at %d: %g %g (want %g %g)\n", i, y[i], m[i],
              2.0f * (float)i, want);
      return 1;
    }
  }
  printf("ok on %s\n", nova_cuda_device_name());
  return 0;
}
