// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=2" | FileCheck %s
// RUN: nova-opt %s --pass-pipeline="builtin.module(func.func(convert-nova-to-linalg{parallel-tiles=2}),eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries},cse,canonicalize)" | FileCheck %s --check-prefix=BUF
// RUN: nova-opt %s --nova-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// The dequantization happens inside the matmul's reduction: one
// linalg.generic reads the int8 weight and the scales, dequantizes each
// element (int8 x scale, one RNE rounding to bf16 on the bits) and
// accumulates; no dequantized weight tensor exists at any level.

// CHECK-LABEL: func.func @decode
// CHECK-NOT: nova.
// Two column tiles of 256 across threads.
// CHECK: scf.forall (%{{.+}}) in (2)
// CHECK: tensor.extract_slice %{{.+}}[0, %{{.+}}] [1024, 256] [1, 1] : tensor<1024x512xi8> to tensor<1024x256xi8>
// The tile's scales are widened to f32 once, outside the reduction.
// CHECK: arith.extf %{{.+}} : bf16 to f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME: ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<1x1024xbf16>, tensor<1024x256xi8>, tensor<8x256xf32>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[Q:.+]]: i8, %[[S:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK: %[[QF:.+]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: %[[P:.+]] = arith.mulf %[[QF]], %[[S]] : f32
// CHECK: arith.bitcast %[[P]] : f32 to i32
// CHECK: %[[W:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK: math.fma %[[XF]], %[[W]], %[[ACC]] : f32
// CHECK: scf.forall.in_parallel
// CHECK-NOT: tensor<1024x512xbf16>
// CHECK-NOT: tensor<1024x512xf32>
// CHECK-NOT: tensor<1024x256xbf16>
// CHECK-NOT: tensor<1024x256xf32>
// CHECK: return

// After bufferization the only buffers are a tile's f32 scales and
// accumulators; the output tile is written in place (no copy).
// BUF-LABEL: func.func @decode
// BUF-NOT: memref.alloc() {{.*}}memref<1024x
// BUF: memref.alloc() {{.*}}: memref<8x256xf32>
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
