//===- NovaTypes.td - Nova type constraints ----------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Nova computes on builtin ranked tensors; it defines no custom types. What it
// needs are the element-type families of Grok-1's numerics (§1, §3, §4), as
// ODS constraints so that every op states them in its signature and the
// generated docs list them.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVATYPES_TD
#define NOVA_DIALECT_NOVATYPES_TD

include "mlir/IR/CommonTypeConstraints.td"

/// Floating-point element types Nova computes in.
def Nova_Float : AnyTypeOf<[BF16, F16, F32], "bf16, f16 or f32">;

/// Statically shaped tensors of the element families used throughout.
def Nova_FloatTensor : StaticShapeTensorOf<[BF16, F16, F32]>;
def Nova_F32Tensor : StaticShapeTensorOf<[F32]>;
def Nova_I8Tensor : StaticShapeTensorOf<[I8]>;
def Nova_I32Tensor : StaticShapeTensorOf<[I32]>;
def Nova_I64Tensor : StaticShapeTensorOf<[I64]>;
/// A per-token mask (non-zero = keep): i1 or i32, as callers have them.
def Nova_TokenMaskTensor : StaticShapeTensorOf<[I1, I32]>;
/// Any statically shaped tensor a parameter may hold.
def Nova_ParamTensor : StaticShapeTensorOf<[BF16, F16, F32, I8, I32]>;
/// Quantization scales: bf16 (as Grok-1 ships them), f16 or f32.
def Nova_ScaleTensor : StaticShapeTensorOf<[BF16, F16, F32]>;

#endif // NOVA_DIALECT_NOVATYPES_TD
