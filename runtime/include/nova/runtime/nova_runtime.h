/*===- nova_runtime.h - Nova's runtime C API -----------------------*- C -*-===*
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * For programs that call Nova's generated kernels (nova-opt --emit=obj
 * with --emit=header): open a safetensors checkpoint and get read-only
 * pointers to its tensors, to pass as the kernels' parameter arguments.
 * Link with libNovaRuntime (C++; add -lstdc++ when linking from C).
 *
 *===----------------------------------------------------------------------===*/

#ifndef NOVA_RUNTIME_NOVA_RUNTIME_H
#define NOVA_RUNTIME_NOVA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nova_checkpoint nova_checkpoint;

/* Opens and validates a safetensors checkpoint (memory-mapped, read-only).
 * On failure returns NULL and writes a message naming the file, the tensor
 * and the rule broken into `error` (if not NULL; truncated to
 * `error_size`). */
nova_checkpoint *nova_checkpoint_open(const char *path, char *error,
                                      size_t error_size);

/* The bytes of tensor `name`, or NULL if there is none. Valid until
 * nova_checkpoint_close. `bytes`, `dtype` (e.g. "BF16") and the shape
 * (`rank` entries, at most 8, into `shape`) are filled when not NULL. */
const void *nova_checkpoint_tensor(const nova_checkpoint *checkpoint,
                                   const char *name, size_t *bytes,
                                   const char **dtype, int *rank,
                                   int64_t shape[8]);

/* The number of tensors and the name of tensor `index` (file order). */
size_t nova_checkpoint_num_tensors(const nova_checkpoint *checkpoint);
const char *nova_checkpoint_tensor_name(const nova_checkpoint *checkpoint,
                                        size_t index);

void nova_checkpoint_close(nova_checkpoint *checkpoint);

#ifdef __cplusplus
}
#endif

#endif /* NOVA_RUNTIME_NOVA_RUNTIME_H */
