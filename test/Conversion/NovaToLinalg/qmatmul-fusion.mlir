// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=2" | FileCheck %s
// RUN: nova-opt %s --pass-pipeline="builtin.module(func.func(convert-nova-to-linalg{parallel-tiles=2}),eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},cse,canonicalize)" | FileCheck %s --check-prefix=BUF
// RUN: nova-opt %s --nova-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// The dequantization happens inside the matmul's reduction: no dequantized
// weight tensor exists at any level. One row of x (decode) takes eight
// weight rows per pass over a tile's accumulators, each element
// dequantized by the split rounding (q * s * 65537, fma(q, s, -that), their
// sum: bf16(q * s) in three f32 operations) when every scale is below 2^105
// (a reduction over the scales' bits, once per call), and one row at a time
// with the integer rounding otherwise.

// CHECK-LABEL: func.func @decode
// CHECK-NOT: nova.
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0, 1]] : tensor<8x512xbf16> into tensor<4096xbf16>
// CHECK: %[[LARGEST:.+]] = scf.for %{{.+}} = %{{.+}} to %c4096 step %{{.+}} iter_args(%{{.+}} = %c0_i32) -> (i32)
// CHECK: arith.maxsi
// CHECK: %[[SPLIT:.+]] = arith.cmpi slt, %[[LARGEST]], %c29696_i32 : i32
// Two column tiles of 256 across threads.
// CHECK: scf.forall (%{{.+}}) in (2)
// CHECK: scf.if %[[SPLIT]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %c128{{(_[0-9]+)?}} step
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xi8>, tensor<256xbf16>) outs(%{{.+}} : tensor<256xf32>)
// CHECK: %[[S:.+]] = arith.extf %{{.+}} : bf16 to f32
// CHECK: %[[C:.+]] = arith.mulf %[[S]], %[[K:.+]] : f32
// CHECK: %[[QF:.+]] = arith.sitofp %{{.+}} : i8 to f32
// CHECK: %[[G:.+]] = arith.mulf %[[QF]], %[[C]] : f32
// CHECK: %[[NG:.+]] = arith.negf %[[G]] : f32
// CHECK: %[[D:.+]] = math.fma %[[QF]], %[[S]], %[[NG]] : f32
// CHECK: %[[W:.+]] = arith.addf %[[G]], %[[D]] : f32
// CHECK: %[[A:.+]] = math.fma %{{.+}}, %[[W]], %{{.+}} : f32
// CHECK: math.fma %{{.+}}, %{{.+}}, %[[A]] : f32
// CHECK: } else {
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<256xi8>, tensor<256xbf16>) outs(%{{.+}} : tensor<256xf32>)
// CHECK: arith.bitcast %{{.+}} : f32 to i32
// CHECK: scf.forall.in_parallel
// CHECK-NOT: tensor<1024x512xbf16>
// CHECK-NOT: tensor<1024x512xf32>
// CHECK-NOT: tensor<1024x256xbf16>
// CHECK-NOT: tensor<1024x256xf32>
// CHECK: return

// After bufferization the only buffers are the result and a tile's
// accumulators; the output tile is written in place (no copy).
// BUF-LABEL: func.func @decode
// BUF-NOT: memref.alloc() {{.*}}memref<1024x
// BUF-NOT: memref.copy
// BUF: memref.alloc() {{.*}}: memref<1x512xbf16>
// BUF-NOT: memref.copy
// BUF: memref.alloc() {{.*}}: memref<1x256xf32>
// BUF-NOT: memref.alloc
// BUF-NOT: memref.copy
// BUF: return

// The tiles run as an OpenMP work-sharing loop.
// LLVM-LABEL: llvm.func @decode
// LLVM: omp.parallel
// LLVM: omp.wsloop
// LLVM: llvm.return
func.func @decode(%x: tensor<1x1024xbf16>, %q: tensor<1024x512xi8>, %s: tensor<8x512xbf16>) -> tensor<1x512xbf16> {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 8>
      : tensor<1x1024xbf16>, tensor<1024x512xi8>, tensor<8x512xbf16> -> tensor<1x512xbf16>
  return %y : tensor<1x512xbf16>
}

// -----

// Several rows of x (prefill): each weight row is dequantized once into an
// f32 row (linalg.map) and applied to every row of the block, four weight
// rows per pass (a chain of four fused multiply-adds in k order); K = 1026
// leaves a remainder of two rows, done one at a time.

// CHECK-LABEL: func.func @prefill
// CHECK-NOT: nova.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c256{{(_[0-9]+)?}} step
// CHECK-COUNT-4: linalg.map ins(%{{.+}}, %{{.+}} : tensor<512xi8>, tensor<512xbf16>) outs(%{{.+}} : tensor<512xf32>)
// CHECK: scf.for %[[ROW:.+]] = %{{.+}} to %{{.+}} step
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<512xf32>, tensor<512xf32>, tensor<512xf32>, tensor<512xf32>)
// CHECK-COUNT-4: math.fma
// CHECK: scf.for %{{.+}} = %c1024 to %c1026 step
// CHECK: linalg.map ins(%{{.+}}, %{{.+}} : tensor<512xi8>, tensor<512xbf16>) outs(%{{.+}} : tensor<512xf32>)
// CHECK-NOT: tensor<1026x512xbf16>
// CHECK-NOT: tensor<1026x512xf32>
// CHECK: return
func.func @prefill(%x: tensor<2x4x1026xbf16>, %q: tensor<1026x512xi8>, %s: tensor<1x512xbf16>) -> tensor<2x4x512xbf16> {
  %y = nova.qmatmul %x, %q, %s layout <per_column>
      : tensor<2x4x1026xbf16>, tensor<1026x512xi8>, tensor<1x512xbf16> -> tensor<2x4x512xbf16>
  return %y : tensor<2x4x512xbf16>
}
