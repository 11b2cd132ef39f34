// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.embedding is one linalg.generic over the result: each element reads
// table[clamp(id, 0, V - 1), d] (out-of-range ids clamp, as JAX's gather
// does) and rounds it to the result type.

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[TABLE:.+]]: tensor<100x64xf32>, %[[IDS:.+]]: tensor<2x8xi32>)
// CHECK-NOT: nova.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[IDS]] : tensor<2x8xi32>) outs(%{{.+}} : tensor<2x8x64xbf16>)
// CHECK-NEXT: ^bb0(%[[ID:.+]]: i32, %{{.+}}: bf16):
// CHECK-NEXT: %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK-NEXT: %[[LO:.+]] = arith.maxsi %[[ID]], %[[ZERO]] : i32
// CHECK-NEXT: %[[LAST:.+]] = arith.constant 99 : i32
// CHECK-NEXT: %[[ROW:.+]] = arith.minsi %[[LO]], %[[LAST]] : i32
// CHECK-NEXT: %[[D:.+]] = linalg.index 2 : index
// CHECK-NEXT: %[[R:.+]] = arith.index_cast %[[ROW]] : i32 to index
// CHECK-NEXT: %[[V:.+]] = tensor.extract %[[TABLE]][%[[R]], %[[D]]] : tensor<100x64xf32>
// CHECK-NEXT: %[[T:.+]] = arith.truncf %[[V]] : f32 to bf16
// CHECK-NEXT: linalg.yield %[[T]] : bf16
// CHECK-NOT: nova.
func.func @embedding(%table: tensor<100x64xf32>, %ids: tensor<2x8xi32>) -> tensor<2x8x64xbf16> {
  %e = nova.embedding %table[%ids] : tensor<100x64xf32>, tensor<2x8xi32> -> tensor<2x8x64xbf16>
  return %e : tensor<2x8x64xbf16>
}
