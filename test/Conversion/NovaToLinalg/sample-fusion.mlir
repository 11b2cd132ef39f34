// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s --check-prefix=NOEXP

// Temperature, mask, top-p and the Gumbel argmax without sorting the
// vocabulary: per row a fixed number of passes over V = 1000 (no nested
// pass over V, no permutation of the vocabulary). Sampling's softmax is its
// own f32 exponential (FMAs, no math.exp, no libm) with integer masses; the
// bf16 nucleus threshold comes from one histogram of masses over the
// 16-bit keys and a descent that stops at it; Philox noise in the draw.

// NOEXP-NOT: math.exp
// NOEXP-NOT: math.log

// CHECK-LABEL: func.func @sample
// CHECK-NOT: nova.
// CHECK: bufferization.alloc_tensor() : tensor<1000xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %c2 step
// 1. temperature, mask, max and min as vectorizable IEEE reductions.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: llvm.intr.maximum
// CHECK: llvm.intr.minimum
// 2. The first maximum (an unsigned-min reduction).
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (index)
// CHECK: arith.minui
// 3. The nucleus: the terms and their integer mass in one pass, the need
//    in 128 bits, one histogram, the descent.
// CHECK: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (i64, tensor<1000xf32>)
// CHECK-COUNT-8: math.fma
// CHECK: arith.fptosi %{{.+}} : f32 to i64
// CHECK: arith.muli %{{.+}} : i128
// The histogram per chunk: buckets and masses in one pass, then the adds.
// CHECK: scf.for {{.+}} -> (tensor<65544xi64>, tensor<1000xi32>, tensor<1000xi64>)
// CHECK: scf.for {{.+}} -> (tensor<1000xi32>, tensor<1000xi64>)
// CHECK: arith.fptosi %{{.+}} : f32 to i64
// CHECK: scf.for {{.+}} -> (tensor<65544xi64>)
// CHECK: arith.addi %{{.+}} : i64
// CHECK: scf.while
// 4. The Gumbel argmax: Philox (10 rounds of two 32x32 multiplies) for the
//    seed, then per block of four entries that can still win.
// CHECK-COUNT-20: arith.mului_extended
// CHECK: llvm.intr.maximum
// CHECK-COUNT-20: arith.mului_extended
// 5. The probabilities' terms and mass, and the top-8 (chunks skipped by
//    their largest term).
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (i64, tensor<1000xf32>)
// CHECK: llvm.intr.maximum
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
// CHECK: bufferization.alloc_tensor() : tensor<16384xf32>
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
