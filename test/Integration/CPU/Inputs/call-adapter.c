/* SPDX-License-Identifier: Apache-2.0
 *
 * Calls the slot adapter's entry once on zeroed buffers and prints "ran":
 * what an application does first on a machine its object may not fit. */
#include "adapter.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void *args[ADAPTER_FORWARD_NUM_ARGS];
  for (int i = 0; i < ADAPTER_FORWARD_NUM_ARGS; ++i)
    args[i] = calloc(1, (size_t)adapter_forward_arg_info[i].bytes + 64);
  adapter_forward_args(args);
  printf("ran\n");
  for (int i = 0; i < ADAPTER_FORWARD_NUM_ARGS; ++i)
    free(args[i]);
  return 0;
}
