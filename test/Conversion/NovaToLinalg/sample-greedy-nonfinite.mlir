// RUN: nova-opt %s --convert-nova-to-linalg | FileCheck %s

// nova.sample's greedy decoding and non-finite logits, without an extra
// pass over V in the common case. A temperature <= 0 divides by 1 (the
// logits unscaled) and replaces the nucleus filter and the Gumbel draw by
// step 1's first maximum. Step 1's max and min are IEEE maximum/minimum
// (they vectorize and propagate NaN); only a row with a NaN takes a second,
// NaN-ignoring pass. A row with NaN, +inf or no finite logit takes no
// softmax pass: every probability is NaN and the top-k is 0, 1, ..., as the
// op description says.

// CHECK-LABEL: func.func @sample_greedy_nonfinite
// CHECK: %[[T:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<1xf32>
// CHECK: %[[GREEDY:.+]] = arith.cmpf ole, %[[T]], %{{.+}} : f32
// CHECK: %[[DIVISOR:.+]] = arith.select %[[GREEDY]], %{{.+}}, %[[T]] : f32
// CHECK: %[[STEP1:.+]]:4 = scf.for %{{.+}} = %{{.+}} to %c1000 step
// CHECK: arith.divf %{{.+}}, %[[DIVISOR]] : f32
// CHECK: llvm.intr.maximum
// CHECK: llvm.intr.minimum
// CHECK: %[[EXT:.+]]:2 = scf.if %[[STEP1]]#3 -> (f32, f32) {
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[STEP1]]#1, %[[STEP1]]#2 : f32, f32
// The first maximum.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (index)
// CHECK: arith.minui
// The filter is skipped when greedy.
// CHECK: arith.ori %{{.+}}, %[[GREEDY]] : i1
// CHECK: scf.if
// CHECK: scf.if %[[GREEDY]] -> (f32, index) {
// CHECK-NEXT: scf.yield %[[EXT]]#0, %{{.+}} : f32, index
// CHECK-NEXT: } else {
// The probabilities: defined only for a finite maximum and no NaN.
// CHECK: arith.cmpf one, %{{.+}}, %cst{{(_[0-9]+)?}} : f32
// CHECK: scf.if %{{.+}} -> (f32, tensor<8xindex>, tensor<8xf32>, tensor<1000xf32>) {
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (i64, tensor<1000xf32>)
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8{{(_[0-9]+)?}} step
// CHECK: arith.constant 0x7FC00000 : f32
// CHECK-NOT: scf.for %{{.+}} = %{{.+}} to %c1000
// CHECK: return
func.func @sample_greedy_nonfinite(%l: tensor<1x1000xf32>, %t: tensor<1xf32>, %p: tensor<1xf32>, %n: tensor<1x1000xf32>)
    -> (tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>) {
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p noise %n top_k 8
      : (tensor<1x1000xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x1000xf32>)
      -> (tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>)
  return %tok, %prob, %ids, %probs : tensor<1xi32>, tensor<1xf32>, tensor<1x8xi32>, tensor<1x8xf32>
}
