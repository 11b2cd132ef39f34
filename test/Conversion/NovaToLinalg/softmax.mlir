// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.softmax over axis 1 is three linalg.generic ops reducing that
// dimension in f32: the max, the sum of exp(x - max), and the normalized
// exp(x - max) / sum rounded once to the input type.

// CHECK-LABEL: func.func @softmax
// CHECK-NOT: nova.
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MINIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2x64xf32>)
// CHECK: %[[MAX:.+]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[MINIT]] : tensor<2x64xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SINIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x64xf32>)
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[MAX]] : tensor<2x8x64xbf16>, tensor<2x64xf32>) outs(%[[SINIT]] : tensor<2x64xf32>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[M:.+]]: f32, %[[S:.+]]: f32):
// CHECK-NEXT: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: %[[D:.+]] = arith.subf %[[XF]], %[[M]] : f32
// CHECK-NEXT: %[[E:.+]] = math.exp %[[D]] : f32
// CHECK-NEXT: arith.addf %[[S]], %[[E]] : f32
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[MAX]], %[[SUM]] : tensor<2x8x64xbf16>, tensor<2x64xf32>, tensor<2x64xf32>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[M:.+]]: f32, %[[S:.+]]: f32, %{{.+}}: bf16):
// CHECK-NEXT: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: %[[D:.+]] = arith.subf %[[XF]], %[[M]] : f32
// CHECK-NEXT: %[[E:.+]] = math.exp %[[D]] : f32
// CHECK-NEXT: %[[P:.+]] = arith.divf %[[E]], %[[S]] : f32
// CHECK-NEXT: %[[R:.+]] = arith.truncf %[[P]] : f32 to bf16
// CHECK-NEXT: linalg.yield %[[R]] : bf16
// CHECK-NOT: nova.
func.func @softmax(%s: tensor<2x8x64xbf16>) -> tensor<2x8x64xbf16> {
  %p = nova.softmax %s axis 1 : tensor<2x8x64xbf16>
  return %p : tensor<2x8x64xbf16>
}
