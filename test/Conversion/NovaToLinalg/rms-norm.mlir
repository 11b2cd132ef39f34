// RUN: nova-opt %s --convert-nova-to-linalg --mlir-print-local-scope | FileCheck %s

// nova.rms_norm is two linalg.generic ops: an f32 sum of squares over the
// last dimension, then y = scale · (x · rsqrt(sum / D + eps)) in f32,
// rounded once to the input type.

// CHECK-LABEL: func.func @rms_norm
// CHECK-NOT: nova.
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x8xf32>)
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%{{.+}} : tensor<2x8x64xbf16>) outs(%[[ACC]] : tensor<2x8xf32>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[S:.+]]: f32):
// CHECK-NEXT: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: %[[SQ:.+]] = arith.mulf %[[XF]], %[[XF]] : f32
// CHECK-NEXT: %[[ADD:.+]] = arith.addf %[[S]], %[[SQ]] : f32
// CHECK-NEXT: linalg.yield %[[ADD]] : f32
// CHECK: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[SUM]], %{{.+}} : tensor<2x8x64xbf16>, tensor<2x8xf32>, tensor<64xf32>)
// CHECK-NEXT: ^bb0(%[[X:.+]]: bf16, %[[SS:.+]]: f32, %[[SCALE:.+]]: f32, %{{.+}}: bf16):
// CHECK: %[[D:.+]] = arith.constant 6.400000e+01 : f32
// CHECK: %[[MEAN:.+]] = arith.divf %[[SS]], %[[D]] : f32
// CHECK: %[[EPS:.+]] = arith.constant 9.99999974E-6 : f32
// CHECK: %[[VAR:.+]] = arith.addf %[[MEAN]], %[[EPS]] : f32
// CHECK: %[[INV:.+]] = math.rsqrt %[[VAR]] : f32
// CHECK: %[[XF:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK: %[[N:.+]] = arith.mulf %[[XF]], %[[INV]] : f32
// CHECK: %[[Y:.+]] = arith.mulf %[[SCALE]], %[[N]] : f32
// CHECK: %[[R:.+]] = arith.truncf %[[Y]] : f32 to bf16
// CHECK: linalg.yield %[[R]] : bf16
// CHECK-NOT: nova.
func.func @rms_norm(%x: tensor<2x8x64xbf16>, %scale: tensor<64xf32>) -> tensor<2x8x64xbf16> {
  %n = nova.rms_norm %x, %scale eps 1.0e-5 : tensor<2x8x64xbf16>, tensor<64xf32> -> tensor<2x8x64xbf16>
  return %n : tensor<2x8x64xbf16>
}
