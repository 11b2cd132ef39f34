// RUN: nova-opt %s --convert-nova-to-linalg | FileCheck %s

// nova.sample's greedy decoding and non-finite logits, without an extra
// pass over V. A temperature <= 0 divides by 1 (the logits unscaled) and
// replaces the nucleus filter and the Gumbel draw by step 1's first
// maximum. A skipped probability term (exp(d) = 0 for d < -746) is
// 0 / z2, computed once per row: NaN when the normalizer z2 is (a +inf or
// NaN logit, or no finite logit), so that every probability is NaN as the
// op description says, not only the non-finite tokens'.

// CHECK-LABEL: func.func @sample_greedy_nonfinite
// CHECK: %[[T:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<1xf32>
// CHECK: %[[GREEDY:.+]] = arith.cmpf ole, %[[T]], %{{.+}} : f32
// CHECK: %[[DIVISOR:.+]] = arith.select %[[GREEDY]], %{{.+}}, %[[T]] : f32
// CHECK: %[[STEP1:.+]]:4 = scf.for %{{.+}} = %{{.+}} to %c1000 step
// CHECK: arith.divf %{{.+}}, %[[DIVISOR]] : f32
// The nucleus filter only where not greedy.
// CHECK: arith.ori %{{.+}}, %[[GREEDY]] : i1
// CHECK: scf.if
// The draw: greedy takes step 1's max and arg max, no loop and no noise.
// CHECK: scf.if %[[GREEDY]] -> (f32, index, f32, i1) {
// CHECK-NEXT: scf.yield %[[STEP1]]#1, %[[STEP1]]#3, %[[STEP1]]#1, %[[STEP1]]#2 : f32, index, f32, i1
// CHECK-NEXT: } else {
// A NaN z at the arg max seeds token 0.
// CHECK: %[[Z0:.+]] = arith.addf
// CHECK: %[[NAN0:.+]] = arith.cmpf uno, %[[Z0]], %[[Z0]] : f32
// CHECK: arith.select %[[NAN0]], %{{.+}}, %[[STEP1]]#3 : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// The normalizer, then the skipped terms' probability from it.
// CHECK: %[[Z2:.+]] = scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (f64)
// CHECK: %[[ZERO:.+]] = arith.divf %{{.+}}, %[[Z2]] : f64
// CHECK: %[[ZEROPROB:.+]] = arith.truncf %[[ZERO]] : f64 to f32
// CHECK: scf.if
// CHECK-NEXT: scf.yield %[[ZEROPROB]] : f32
// The top-k pass uses it too; no further pass over V.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: scf.if
// CHECK-NEXT: scf.yield %[[ZEROPROB]] : f32
// CHECK-NOT: scf.for %{{.+}} = %{{.+}} to %c1000
// CHECK: return
func.func @sample_greedy_nonfinite(%l: tensor<1x1000xf32>, %t: tensor<1xf32>, %p: tensor<1xf32>, %n: tensor<1x1000xf32>)
    -> (tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>) {
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p noise %n top_k 8
      : (tensor<1x1000xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x1000xf32>)
      -> (tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>)
  return %tok, %prob, %ids, %probs : tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>
}
