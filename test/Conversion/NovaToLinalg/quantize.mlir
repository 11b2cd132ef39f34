// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.quantize is one elementwise linalg.generic over the weight's shape:
// the scales map picks each element's block scale, and the body is
// clamp(roundeven(f32(x) / f32(s)), -128, 127) with NaN quantized to 0.

// CHECK-LABEL: func.func @quantize
// CHECK-NOT: nova.
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<64x32xi8>
// Groups of 16 rows share a scale row.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0 floordiv 16, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %{{.+}} : tensor<64x32xf32>, tensor<4x32xf32>) outs(%[[INIT]] : tensor<64x32xi8>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: f32, %[[S:.+]]: f32, %{{.+}}: i8):
// CHECK-NEXT: %[[D:.+]] = arith.divf %[[X]], %[[S]] : f32
// CHECK-NEXT: %[[R:.+]] = math.roundeven %[[D]] : f32
// CHECK: %[[LO:.+]] = arith.maximumf %[[R]], %{{.+}} : f32
// CHECK: %[[HI:.+]] = arith.minimumf %[[LO]], %{{.+}} : f32
// CHECK: %[[NAN:.+]] = arith.cmpf uno, %[[D]], %[[D]] : f32
// CHECK: %[[SAFE:.+]] = arith.select %[[NAN]], %{{.+}}, %[[HI]] : f32
// CHECK: %[[Q:.+]] = arith.fptosi %[[SAFE]] : f32 to i8
// CHECK: linalg.yield %[[Q]] : i8
// CHECK-NOT: nova.
func.func @quantize(%w: tensor<64x32xf32>, %s: tensor<4x32xf32>) -> tensor<64x32xi8> {
  %q = nova.quantize %w, %s layout <group = 16> : tensor<64x32xf32>, tensor<4x32xf32> -> tensor<64x32xi8>
  return %q : tensor<64x32xi8>
}

// A per-tensor scale of each batch entry: both scale indices are constant;
// 16-bit inputs are widened to f32 before the division.
// CHECK-LABEL: func.func @quantize_per_tensor
// CHECK-NOT: nova.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, 0, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[S:.+]]: bf16, %{{.+}}: i8):
// CHECK-NEXT: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: %[[SF:.+]] = arith.extf %[[S]] : bf16 to f32
// CHECK-NEXT: arith.divf %[[XF]], %[[SF]] : f32
// CHECK: arith.fptosi %{{.+}} : f32 to i8
func.func @quantize_per_tensor(%w: tensor<4x64x32xbf16>, %s: tensor<4x1x1xbf16>) -> tensor<4x64x32xi8> {
  %q = nova.quantize %w, %s layout <per_tensor> : tensor<4x64x32xbf16>, tensor<4x1x1xbf16> -> tensor<4x64x32xi8>
  return %q : tensor<4x64x32xi8>
}
