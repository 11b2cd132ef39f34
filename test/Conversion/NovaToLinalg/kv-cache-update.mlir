// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.kv_cache_update is one linalg.generic over the cache: cache row s of
// batch b takes update row s - offset[b] when that is in [0, T), else keeps
// its value (selected on the bf16 bit patterns).

// CHECK-LABEL: func.func @kv_cache_update
// CHECK-SAME: (%[[CACHE:.+]]: tensor<1x32x2x16xbf16>, %[[UPD:.+]]: tensor<1x4x2x16xbf16>, %[[OFF:.+]]: tensor<1xi32>)
// CHECK-NOT: nova.
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[CACHE]], %[[OFF]] : tensor<1x32x2x16xbf16>, tensor<1xi32>)
// CHECK-NEXT: ^bb0(%[[OLD:.+]]: bf16, %[[O:.+]]: i32, %{{.+}}: bf16):
// CHECK-NEXT: %[[S:.+]] = linalg.index 1 : index
// CHECK-NEXT: %[[OI:.+]] = arith.index_cast %[[O]] : i32 to index
// CHECK-NEXT: %[[ROW:.+]] = arith.subi %[[S]], %[[OI]] : index
// CHECK: %[[GE:.+]] = arith.cmpi sge, %[[ROW]], %{{.+}} : index
// CHECK: %[[T:.+]] = arith.constant 4 : index
// CHECK: %[[LT:.+]] = arith.cmpi slt, %[[ROW]], %[[T]] : index
// CHECK: %[[IN:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: %[[SAFE:.+]] = arith.select %[[IN]], %[[ROW]], %{{.+}} : index
// CHECK: %[[NEW:.+]] = tensor.extract %[[UPD]][%{{.+}}, %[[SAFE]], %{{.+}}, %{{.+}}] : tensor<1x4x2x16xbf16>
// CHECK: %[[NB:.+]] = arith.bitcast %[[NEW]] : bf16 to i16
// CHECK: %[[OB:.+]] = arith.bitcast %[[OLD]] : bf16 to i16
// CHECK: %[[SEL:.+]] = arith.select %[[IN]], %[[NB]], %[[OB]] : i16
// CHECK: %[[V:.+]] = arith.bitcast %[[SEL]] : i16 to bf16
// CHECK: linalg.yield %[[V]] : bf16
// CHECK-NOT: nova.
func.func @kv_cache_update(%kc: tensor<1x32x2x16xbf16>, %k: tensor<1x4x2x16xbf16>, %offset: tensor<1xi32>) -> tensor<1x32x2x16xbf16> {
  %kc2 = nova.kv_cache_update %kc, %k, %offset : tensor<1x32x2x16xbf16>, tensor<1x4x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
  return %kc2 : tensor<1x32x2x16xbf16>
}
