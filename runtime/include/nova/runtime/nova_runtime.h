/*===- nova_runtime.h - Nova's runtime C API -----------------------*- C -*-===*
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * For programs that call Nova's generated kernels (nova-opt --emit=obj
 * with --emit=header): open a safetensors checkpoint (one file, or several
 * with a model.safetensors.index.json) and get read-only pointers to its
 * tensors, or load tensors and shards of them into the caller's buffers on
 * many threads, to pass as the kernels' parameter arguments.
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

/* Opens and validates a checkpoint (memory-mapped, read-only): a
 * .safetensors file, an index .json, or a directory holding either.
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

/* How nova_checkpoint_load reads: NOVA_READ_AUTO picks /dev/shm staging
 * for files on network filesystems and large preads otherwise. */
typedef enum {
  NOVA_READ_AUTO = 0,
  NOVA_READ_MMAP = 1,
  NOVA_READ_PREAD = 2,
  NOVA_READ_SHM = 3
} nova_read_mode;

/* One tensor to load into `dest` (exactly `dest_bytes`, which must equal
 * the tensor's or the slice's size). `slice_begin`/`slice_end` (both NULL
 * for the whole tensor) give one [begin, end) range per dimension; the
 * slice is stored densely, row-major. */
typedef struct {
  const char *name;
  const int64_t *slice_begin;
  const int64_t *slice_end;
  void *dest;
  size_t dest_bytes;
} nova_load_request;

/* Loads `count` requests on `threads` threads (0: one per hardware thread,
 * at least 4). Every request is checked before any byte is written.
 * Returns 0 on success; otherwise -1 with a message in `error`. */
int nova_checkpoint_load(const nova_checkpoint *checkpoint,
                         const nova_load_request *requests, size_t count,
                         nova_read_mode mode, unsigned threads, char *error,
                         size_t error_size);

/* The box of a tensor of `shape` (`rank` dimensions) held by the device at
 * `coords` of a mesh with `num_axes` axes of sizes `axis_sizes`, when
 * dimension d is split over the axes listed in `dim_axes[d]` (indices into
 * the mesh, `dim_num_axes[d]` of them; 0 for a replicated dimension).
 * Writes [begin, end) per dimension; returns 0, or -1 with `error`. */
int nova_shard_box(int rank, const int64_t *shape, int num_axes,
                   const int64_t *axis_sizes, const int64_t *coords,
                   const int *const *dim_axes, const int *dim_num_axes,
                   int64_t *begin, int64_t *end, char *error,
                   size_t error_size);

void nova_checkpoint_close(nova_checkpoint *checkpoint);

#ifdef __cplusplus
}
#endif

#endif /* NOVA_RUNTIME_NOVA_RUNTIME_H */
