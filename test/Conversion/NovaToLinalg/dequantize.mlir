// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.dequantize is one elementwise linalg.generic: f32(q) · f32(s) (exact)
// rounded once to the scale type, for bf16 by RNE on the bits.

// CHECK-LABEL: func.func @dequantize
// CHECK-NOT: nova.
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x64x32xbf16>
// Eight row blocks of 64 / 8 rows, one scale per column in each.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1 floordiv 8, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %{{.+}} : tensor<4x64x32xi8>, tensor<4x8x32xbf16>) outs(%[[INIT]] : tensor<4x64x32xbf16>)
// CHECK-NEXT: ^bb0(%[[Q:.+]]: i8, %[[S:.+]]: bf16, %{{.+}}: bf16):
// CHECK-NEXT: %[[QF:.+]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK-NEXT: %[[SF:.+]] = arith.extf %[[S]] : bf16 to f32
// CHECK-NEXT: %[[P:.+]] = arith.mulf %[[QF]], %[[SF]] : f32
// CHECK-NEXT: %[[BITS:.+]] = arith.bitcast %[[P]] : f32 to i32
// CHECK: arith.shrui %[[BITS]], %{{.+}} : i32
// CHECK: arith.addi %[[BITS]], %{{.+}} : i32
// CHECK: %[[KEPT:.+]] = arith.andi %{{.+}}, %c-65536_i32 : i32
// CHECK: %[[W:.+]] = arith.bitcast %[[KEPT]] : i32 to f32
// The rounded value is exact in bf16.
// CHECK: %[[R:.+]] = arith.truncf %[[W]] : f32 to bf16
// CHECK: linalg.yield %[[R]] : bf16
// CHECK-NOT: nova.
func.func @dequantize(%q: tensor<4x64x32xi8>, %s: tensor<4x8x32xbf16>) -> tensor<4x64x32xbf16> {
  %w = nova.dequantize %q, %s layout <row_blocks = 8> : tensor<4x64x32xi8>, tensor<4x8x32xbf16> -> tensor<4x64x32xbf16>
  return %w : tensor<4x64x32xbf16>
}

// f32 scales per column: the product is the result, no rounding step.
// CHECK-LABEL: func.func @dequantize_f32
// CHECK-NOT: nova.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
// CHECK-NEXT: ^bb0(%[[Q:.+]]: i8, %[[S:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: %[[QF:.+]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK-NEXT: %[[P:.+]] = arith.mulf %[[QF]], %[[S]] : f32
// CHECK-NEXT: linalg.yield %[[P]] : f32
func.func @dequantize_f32(%q: tensor<64x32xi8>, %s: tensor<1x32xf32>) -> tensor<64x32xf32> {
  %w = nova.dequantize %q, %s layout <per_column> : tensor<64x32xi8>, tensor<1x32xf32> -> tensor<64x32xf32>
  return %w : tensor<64x32xf32>
}
