// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s

// nova.top_p_filter: per row one pass loading the logits (and their max),
// the same threshold search as nova.sample (the terms and their integer
// mass in one pass; for bf16 one histogram over the 16-bit keys and a
// descent), and one pass writing x or round_T(-1e10). No sort, no [B, V]
// scratch.

// CHECK-LABEL: func.func @filter
// CHECK-NOT: nova.
// CHECK: scf.for %[[ROW:.+]] = %{{.+}} to %c2 step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step
// CHECK: tensor.extract %{{.+}}[%[[ROW]], %{{.+}}] : tensor<2x1000xbf16>
// CHECK: arith.maxnumf
// CHECK: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (i64, tensor<1000xf32>)
// CHECK: math.fma
// The histogram per chunk: buckets and masses in one pass, then the adds.
// CHECK: scf.for {{.+}} -> (tensor<65544xi64>, tensor<1000xi32>, tensor<1000xi64>)
// CHECK: scf.for {{.+}} -> (tensor<1000xi32>, tensor<1000xi64>)
// CHECK: arith.fptosi %{{.+}} : f32 to i64
// CHECK: scf.for {{.+}} -> (tensor<65544xi64>)
// CHECK: arith.addi %{{.+}} : i64
// CHECK: scf.while
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (tensor<2x1000xbf16>)
// CHECK: arith.cmpf olt
// CHECK: tensor.insert %{{.+}} into %{{.+}}[%[[ROW]], %{{.+}}] : tensor<2x1000xbf16>
// CHECK-NOT: tensor<1000xindex>
// CHECK-NOT: scf.for %{{.+}} = %{{.+}} to %c1000
// CHECK: return
func.func @filter(%l: tensor<2x1000xbf16>, %p: tensor<2xf32>) -> tensor<2x1000xbf16> {
  %f = nova.top_p_filter %l, %p : tensor<2x1000xbf16>, tensor<2xf32> -> tensor<2x1000xbf16>
  return %f : tensor<2x1000xbf16>
}

// -----

// Rows in parallel when the batch is large enough, as nova.sample's.

// CHECK-LABEL: func.func @filter_rows_in_parallel
// CHECK: scf.forall (%[[ROW:.+]]) in (4) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<4x16384xf32>)
// CHECK: tensor.empty() : tensor<16384xf32>
// CHECK: bufferization.alloc_tensor() : tensor<16384xf32>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[ROW]], 0] [1, 16384] [1, 1]
// CHECK: return
func.func @filter_rows_in_parallel(%l: tensor<4x16384xf32>, %p: tensor<4xf32>) -> tensor<4x16384xf32> {
  %f = nova.top_p_filter %l, %p : tensor<4x16384xf32>, tensor<4xf32> -> tensor<4x16384xf32>
  return %f : tensor<4x16384xf32>
}

// -----

// nova.sample with row_seeds and stages: the scaled and masked logits are
// written by the first pass, the filtered ones by one pass after the
// threshold; the Philox counter takes the row's key from row_seeds (low
// and high 32 bits), read once per row before the draw (the seed's noise,
// then the chunks of 256 entries).

// CHECK-LABEL: func.func @sample_stages_row_seeds
// CHECK-NOT: nova.
// CHECK: scf.for %[[ROW:.+]] = %{{.+}} to %c2 step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (tensor<1000xf32>, f32, f32, i1, tensor<2x1000xbf16>, tensor<2x1000xbf16>)
// CHECK-COUNT-2: tensor.insert %{{.+}} into %{{.+}}[%[[ROW]], %{{.+}}] : tensor<2x1000xbf16>
// CHECK: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1000{{(_[0-9]+)?}} step {{.+}} -> (tensor<2x1000xbf16>)
// CHECK: tensor.insert %{{.+}} into %{{.+}}[%[[ROW]], %{{.+}}] : tensor<2x1000xbf16>
// CHECK: %[[KEY:.+]] = tensor.extract %{{.+}}[%[[ROW]]] : tensor<2xi64>
// CHECK: arith.trunci %[[KEY]] : i64 to i32
// CHECK: %[[HIGH:.+]] = arith.shrui %[[KEY]], %{{.+}} : i64
// CHECK: arith.trunci %[[HIGH]] : i64 to i32
// CHECK-COUNT-20: arith.mului_extended
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4{{(_[0-9]+)?}} step
// CHECK-COUNT-20: arith.mului_extended
// CHECK: return
func.func @sample_stages_row_seeds(%l: tensor<2x1000xbf16>, %t: tensor<2xf32>, %p: tensor<2xf32>, %seed: tensor<i64>,
                                   %step: tensor<i32>, %rows: tensor<2xi64>) -> (tensor<2xi32>, tensor<2x1000xbf16>) {
  %tok, %prob, %ids, %probs, %s, %m, %f = nova.sample %l, %t, %p seed %seed step %step row_seeds %rows top_k 8 stages
      : (tensor<2x1000xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>, tensor<2xi64>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x1000xbf16>, tensor<2x1000xbf16>, tensor<2x1000xbf16>)
  return %tok, %f : tensor<2xi32>, tensor<2x1000xbf16>
}
