//===- NovaDialect.td - Nova dialect definition ------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVADIALECT_TD
#define NOVA_DIALECT_NOVADIALECT_TD

include "mlir/IR/OpBase.td"

def Nova_Dialect : Dialect {
  let name = "nova";
  let cppNamespace = "::mlir::nova";
  let summary = "Quantized, sharded mixture-of-experts dataflow graphs";
  let description = [{
    The Nova dialect describes inference graphs of the Grok-1 family at the
    graph level: named parameters with hierarchical paths, int8 weights with
    explicit scale layouts, quantized matmuls, mixture-of-experts routing,
    dispatch and combine, grouped-query attention over an explicit KV cache,
    and temperature + nucleus sampling. Upstream dialects (`arith`, `math`,
    `tensor`) carry plain elementwise and reshaping work; Nova ops exist only
    where upstream has no op with the required semantics.

    Every op's description states its exact numerics. Notation used there:

    * `round_T(x)`: round the real value `x` to element type `T` with
      round-to-nearest-even (the identity when `x` is already exact in `T`).
    * `f32(x)`: the exact widening of `x` to f32 (int8, bf16 and f32 values are
      all exact in f32).
    * "§n" refers to the section of `grok1-semantics.md` an op implements.

    Reductions (matmul, softmax, norms) accumulate in at least f32; the order
    of accumulation is unspecified and covered by Nova's tolerance policy
    (`docs/tolerance.md`). Integer and token results are exact.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

#endif // NOVA_DIALECT_NOVADIALECT_TD
