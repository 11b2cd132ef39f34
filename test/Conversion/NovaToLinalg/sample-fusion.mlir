// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s

// Temperature, mask, top-p and the Gumbel argmax without sorting the
// vocabulary: per row a fixed number of passes over V = 1000 (no nested
// pass over V, no permutation of the vocabulary), the nucleus threshold
// found by a radix descent over the logits' keys with 256-bucket f64
// histograms (two levels for bf16 logits), Philox noise in the argmax pass.

// CHECK-LABEL: func.func @sample
// CHECK-NOT: nova.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c2 step
// 1. temperature, mask, max (and the arg max seeding the draw).
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// The nucleus: exp(x - max) once, the division, two histogram levels.
// CHECK: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: math.exp %{{.+}} : f64
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: arith.divf %{{.+}} : f64
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (tensor<256xf64>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c256{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (tensor<256xf64>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c256{{(_[0-9]+)?}} step
// CHECK-NOT: -> (tensor<256xf64>)
// 4. The Gumbel argmax: Philox (10 rounds of two 32x32 multiplies) only
//    for elements that can still win.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: scf.if
// CHECK-COUNT-20: arith.mului_extended
// 5. The normalizer and the top-8 (one insertion pass).
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK-NOT: scf.for %{{.+}} = %{{.+}} to %c1000
// CHECK-NOT: tensor<1000xindex>
// CHECK-NOT: tensor<1000xi32>
// CHECK-NOT: tensor<2x1000x
// CHECK: return
func.func @sample(%l: tensor<2x1000xbf16>, %t: tensor<2xf32>, %p: tensor<2xf32>, %seed: tensor<i64>, %step: tensor<i32>)
    -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>) {
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p seed %seed step %step top_k 8
      : (tensor<2x1000xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok, %prob, %ids, %probs : tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>
}

// -----

// A batch large enough (batch · V ≥ 2^15) samples its rows in parallel: an
// scf.forall over the rows (an OpenMP loop after nova-cpu-pipeline), each
// row with its own [V] scratch, writing its row of every output with
// tensor.parallel_insert_slice. Still no sort and no [B, V]-sized tensor.

// CHECK-LABEL: func.func @sample_rows_in_parallel
// CHECK-NOT: nova.
// CHECK: scf.forall (%[[ROW:.+]]) in (4) shared_outs(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<4xi32>, tensor<4xbf16>, tensor<4x8xi32>, tensor<4x8xbf16>)
// CHECK: tensor.empty() : tensor<16384xf32>
// CHECK: tensor.empty() : tensor<16384xf64>
// CHECK: tensor.extract %{{.+}}[%[[ROW]], %{{.+}}] : tensor<4x16384xbf16>
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-2: tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[ROW]]] [1] [1]
// CHECK-COUNT-2: tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[ROW]], 0] [1, 8] [1, 1]
// CHECK-NOT: tensor<4x16384xf32>
// CHECK: return
func.func @sample_rows_in_parallel(%l: tensor<4x16384xbf16>, %t: tensor<4xf32>, %p: tensor<4xf32>, %seed: tensor<i64>, %step: tensor<i32>)
    -> (tensor<4xi32>, tensor<4xbf16>, tensor<4x8xi32>, tensor<4x8xbf16>) {
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p seed %seed step %step top_k 8
      : (tensor<4x16384xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<i32>)
      -> (tensor<4xi32>, tensor<4xbf16>, tensor<4x8xi32>, tensor<4x8xbf16>)
  return %tok, %prob, %ids, %probs : tensor<4xi32>, tensor<4xbf16>, tensor<4x8xi32>, tensor<4x8xbf16>
}
