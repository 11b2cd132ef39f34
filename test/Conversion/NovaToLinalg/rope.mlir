// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.rope is one linalg.generic over [B, T, H, Dh]: the inverse
// frequencies 1 / base^(2j / Dh) are an f32 constant computed at compile
// time (each step rounded to f32), and each element combines x[i] with its
// partner x[i ± Dh/2] (negated in the lower half) by cos and sin of
// position · inv_freq[i].

// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[X:.+]]: tensor<1x4x8x16xbf16>, %[[POS:.+]]: tensor<1x4xi32>)
// CHECK-NOT: nova.
// Base 10000, Dh = 16: 10000^(-j/8) for j = 0..7, twice.
// CHECK: %[[INV:.+]] = arith.constant dense<[1.000000e+00, 0.316227764, 1.000000e-01, 0.0316227786, 0.00999999977, 0.00316227786, 1.000000e-03, 3.16227786E-4, 1.000000e+00, 0.316227764, 1.000000e-01, 0.0316227786, 0.00999999977, 0.00316227786, 1.000000e-03, 3.16227786E-4]> : tensor<16xf32>
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[POS]], %[[INV]] : tensor<1x4x8x16xbf16>, tensor<1x4xi32>, tensor<16xf32>)
// CHECK-NEXT: ^bb0(%[[XI:.+]]: bf16, %[[P:.+]]: i32, %[[F:.+]]: f32, %{{.+}}: bf16):
// CHECK-NEXT: %[[I:.+]] = linalg.index 3 : index
// CHECK: %[[LOWER:.+]] = arith.cmpi slt, %[[I]], %{{.+}} : index
// CHECK: %[[UP:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[DOWN:.+]] = arith.subi %[[I]], %{{.+}} : index
// CHECK: %[[PARTNER:.+]] = arith.select %[[LOWER]], %[[UP]], %[[DOWN]] : index
// CHECK: %[[O:.+]] = tensor.extract %[[X]][%{{.+}}, %{{.+}}, %{{.+}}, %[[PARTNER]]] : tensor<1x4x8x16xbf16>
// CHECK: %[[OF:.+]] = arith.extf %[[O]] : bf16 to f32
// CHECK: %[[NEG:.+]] = arith.negf %[[OF]] : f32
// CHECK: %[[ROT:.+]] = arith.select %[[LOWER]], %[[NEG]], %[[OF]] : f32
// CHECK: %[[PF:.+]] = arith.sitofp %[[P]] : i32 to f32
// CHECK: %[[PHASE:.+]] = arith.mulf %[[PF]], %[[F]] : f32
// CHECK: %[[C:.+]] = math.cos %[[PHASE]] : f32
// CHECK: %[[S:.+]] = math.sin %[[PHASE]] : f32
// CHECK: %[[XF:.+]] = arith.extf %[[XI]] : bf16 to f32
// CHECK: %[[A:.+]] = arith.mulf %[[XF]], %[[C]] : f32
// CHECK: %[[B:.+]] = arith.mulf %[[ROT]], %[[S]] : f32
// CHECK: %[[Y:.+]] = arith.addf %[[A]], %[[B]] : f32
// CHECK: %[[R:.+]] = arith.truncf %[[Y]] : f32 to bf16
// CHECK: linalg.yield %[[R]] : bf16
// CHECK-NOT: nova.
func.func @rope(%q: tensor<1x4x8x16xbf16>, %positions: tensor<1x4xi32>) -> tensor<1x4x8x16xbf16> {
  %qr = nova.rope %q, %positions base 10000.0 : tensor<1x4x8x16xbf16>, tensor<1x4xi32> -> tensor<1x4x8x16xbf16>
  return %qr : tensor<1x4x8x16xbf16>
}
