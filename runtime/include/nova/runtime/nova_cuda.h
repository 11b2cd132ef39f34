/*===- nova_cuda.h - Running Nova's CUDA objects ------------------*- C -*-===//
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * An object compiled with `nova-opt --target=cuda --emit=obj` embeds its
 * kernels and launches them through libNovaRuntimeCuda (docs/cuda.md). Its
 * entry points have the CPU object's signature (docs/abi.md), but every
 * buffer passed to them must be reachable by the device: allocate them with
 * nova_cuda_alloc. The entries return nothing; a failed CUDA call (no
 * driver, no device, a kernel fault) is recorded, later launches of the
 * process are skipped, and nova_cuda_error tells. Check it after each call.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NOVA_RUNTIME_NOVA_CUDA_H
#define NOVA_RUNTIME_NOVA_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Managed memory of `bytes` (host and device see the same address), 256-byte
 * aligned; NULL with nova_cuda_error set when the driver or device fails. */
void *nova_cuda_alloc(size_t bytes);
/* Frees what nova_cuda_alloc returned (NULL is ignored). */
void nova_cuda_free(void *ptr);
/* The first CUDA failure of this process ("" when none): the call, the
 * driver's message and code. The text stays valid until the process ends. */
const char *nova_cuda_error(void);
/* The name of the device the objects run on ("" before the first use). */
const char *nova_cuda_device_name(void);

#ifdef __cplusplus
}
#endif

#endif /* NOVA_RUNTIME_NOVA_CUDA_H */
