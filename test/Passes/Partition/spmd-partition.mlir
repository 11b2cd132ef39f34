// RUN: nova-opt %s --nova-spmd-partition --split-input-file --verify-diagnostics | FileCheck %s

// Tensor parallelism over a 2-device mesh: a column-parallel qmatmul (weight
// split on N) feeds a row-parallel one (split on K) with no communication in
// between; the row-parallel partial sums are reduced once, in f32, and
// rounded to bf16 after the reduction.

nova.mesh @mesh ["data" = 1, "model" = 2]

// CHECK-LABEL: func.func @mlp
// CHECK-SAME: %[[X:.*]]: tensor<4x16xbf16>, %[[COMM:.*]]: i32 {nova.communicator})
// CHECK-SAME: -> tensor<4x16xbf16>
func.func @mlp(%x: tensor<4x16xbf16>) -> tensor<4x16xbf16> {
  // CHECK: %[[G:.*]] = nova.group_comm %[[COMM]] over @mesh ["model"] : i32
  // The local shard keeps the whole parameter's spec (and scale layout).
  // CHECK: nova.param "up/w" scales <per_column> sharding <@mesh, [None, "model"]> local : tensor<16x16xi8>, tensor<1x16xbf16>
  %w1, %s1 = nova.param "up/w" scales <per_column> sharding <@mesh, [None, "model"]>
      : tensor<16x32xi8>, tensor<1x32xbf16>
  // CHECK: %[[H:.*]] = nova.qmatmul %[[X]], {{.*}} : tensor<4x16xbf16>, tensor<16x16xi8>, tensor<1x16xbf16> -> tensor<4x16xbf16>
  %h = nova.qmatmul %x, %w1, %s1 layout <per_column>
      : tensor<4x16xbf16>, tensor<16x32xi8>, tensor<1x32xbf16> -> tensor<4x32xbf16>
  // CHECK: %[[A:.*]] = nova.gelu %[[H]] : tensor<4x16xbf16>
  %a = nova.gelu %h : tensor<4x32xbf16>
  // Row blocks follow K: 4 blocks of the whole weight are 2 per device (the
  // contraction's layout is the local one; the parameter's the whole one).
  // CHECK: nova.param "down/w" scales <row_blocks = 4> sharding <@mesh, ["model", None]> local : tensor<16x16xi8>, tensor<2x16xbf16>
  %w2, %s2 = nova.param "down/w" scales <row_blocks = 4> sharding <@mesh, ["model", None]>
      : tensor<32x16xi8>, tensor<4x16xbf16>
  // CHECK: %[[P:.*]] = nova.qmatmul %[[A]], {{.*}} layout <row_blocks = 2> : tensor<4x16xbf16>, tensor<16x16xi8>, tensor<2x16xbf16> -> tensor<4x16xf32>
  %y = nova.qmatmul %a, %w2, %s2 layout <row_blocks = 4>
      : tensor<4x32xbf16>, tensor<32x16xi8>, tensor<4x16xbf16> -> tensor<4x16xbf16>
  // CHECK: %[[R:.*]] = nova.all_reduce %[[P]], %[[G]] over @mesh ["model"] {nova.cause = "partial sums of row-parallel nova.qmatmul"} : tensor<4x16xf32> -> tensor<4x16xf32>
  // CHECK: %[[Y:.*]] = arith.truncf %[[R]] : tensor<4x16xf32> to tensor<4x16xbf16>
  // CHECK-NOT: nova.all_
  // CHECK: nova.comm_free %[[G]] : i32
  // CHECK: return %[[Y]]
  return %y : tensor<4x16xbf16>
}

// -----

// An op that needs whole operands (rms_norm reduces over the split
// dimension) gets a gather; the replicated input of a row-parallel matmul is
// sliced locally at this device's shard index (no communication).

nova.mesh @mesh ["model" = 2]

// CHECK-LABEL: func.func @gather_and_slice
func.func @gather_and_slice(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // CHECK-DAG: %[[G:.*]] = nova.group_comm %{{.*}} over @mesh ["model"] : i32
  // CHECK-DAG: %[[I:.*]] = nova.shard_index %{{.*}} over @mesh ["model"] : index
  %w = nova.param "col/w" sharding <@mesh, [None, "model"]> : tensor<8x8xf32>
  %h = nova.matmul %x, %w : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
  // CHECK: %[[F:.*]] = nova.all_gather %{{.*}}, %[[G]] over @mesh ["model"] dim 1 {nova.cause = "operand of nova.rms_norm, which needs whole values"} : tensor<2x4xf32> -> tensor<2x8xf32>
  %n = nova.param "n/scale" : tensor<8xf32>
  %r = nova.rms_norm %h, %n eps 1.0e-5 : tensor<2x8xf32>, tensor<8xf32> -> tensor<2x8xf32>
  // CHECK: %[[N:.*]] = nova.rms_norm %[[F]]
  // CHECK: %[[OFF:.*]] = arith.muli %[[I]], %{{.*}} : index
  // CHECK: tensor.extract_slice %[[N]][0, %[[OFF]]] [2, 4] [1, 1] : tensor<2x8xf32> to tensor<2x4xf32>
  %w2 = nova.param "row/w" sharding <@mesh, ["model"]> : tensor<8x8xf32>
  %y = nova.matmul %r, %w2 : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
  // CHECK: nova.all_reduce
  return %y : tensor<2x8xf32>
}

// -----

// Heads split: q/k/v column-parallel, reshaped to heads, RoPE, the KV cache
// (a state value: argument and result of the same name) kept split across
// calls, attention per device, the output projection row-parallel.

nova.mesh @mesh ["model" = 2]

// CHECK-LABEL: func.func @attention
// CHECK-SAME: %{{.*}}: tensor<1x8x2x4xbf16> {nova.name = "k_cache", nova.sharding = #nova.sharding<@mesh, [None, None, "model", None]>}
// CHECK-SAME: -> (tensor<1x2x16xbf16> {nova.name = "out"}, tensor<1x8x2x4xbf16> {nova.name = "k_cache", nova.sharding = #nova.sharding<@mesh, [None, None, "model", None]>})
func.func @attention(%x: tensor<1x2x16xbf16> {nova.name = "x"},
                     %pos: tensor<1x2xi32> {nova.name = "positions"},
                     %kc: tensor<1x8x4x4xbf16> {nova.name = "k_cache"},
                     %off: tensor<1xi32> {nova.name = "offsets"})
    -> (tensor<1x2x16xbf16> {nova.name = "out"}, tensor<1x8x4x4xbf16> {nova.name = "k_cache"}) {
  %wq = nova.param "q/w" sharding <@mesh, [None, "model"]> : tensor<16x16xbf16>
  %wk = nova.param "k/w" sharding <@mesh, [None, "model"]> : tensor<16x16xbf16>
  %q = nova.matmul %x, %wq : tensor<1x2x16xbf16>, tensor<16x16xbf16> -> tensor<1x2x16xbf16>
  %k = nova.matmul %x, %wk : tensor<1x2x16xbf16>, tensor<16x16xbf16> -> tensor<1x2x16xbf16>
  // CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [1, 2, 2, 4] : tensor<1x2x8xbf16> into tensor<1x2x2x4xbf16>
  %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [1, 2, 4, 4] : tensor<1x2x16xbf16> into tensor<1x2x4x4xbf16>
  %k4 = tensor.expand_shape %k [[0], [1], [2, 3]] output_shape [1, 2, 4, 4] : tensor<1x2x16xbf16> into tensor<1x2x4x4xbf16>
  // CHECK: nova.rope %{{.*}}, %{{.*}} base {{.*}} : tensor<1x2x2x4xbf16>, tensor<1x2xi32> -> tensor<1x2x2x4xbf16>
  %qr = nova.rope %q4, %pos base 1.0e4 : tensor<1x2x4x4xbf16>, tensor<1x2xi32> -> tensor<1x2x4x4xbf16>
  // CHECK: nova.kv_cache_update %{{.*}} : tensor<1x8x2x4xbf16>, tensor<1x2x2x4xbf16>, tensor<1xi32> -> tensor<1x8x2x4xbf16>
  %kc2 = nova.kv_cache_update %kc, %k4, %off : tensor<1x8x4x4xbf16>, tensor<1x2x4x4xbf16>, tensor<1xi32> -> tensor<1x8x4x4xbf16>
  // CHECK: nova.attention %{{.*}} : tensor<1x2x2x4xbf16>, tensor<1x8x2x4xbf16>, tensor<1x8x2x4xbf16>, tensor<1xi32> -> tensor<1x2x2x4xbf16>
  %a = nova.attention %qr, %kc2, %kc2, %off scale 0.5 : tensor<1x2x4x4xbf16>, tensor<1x8x4x4xbf16>, tensor<1x8x4x4xbf16>, tensor<1xi32> -> tensor<1x2x4x4xbf16>
  %a2 = tensor.collapse_shape %a [[0], [1], [2, 3]] : tensor<1x2x4x4xbf16> into tensor<1x2x16xbf16>
  %wo = nova.param "o/w" sharding <@mesh, ["model"]> : tensor<16x16xbf16>
  %o = nova.matmul %a2, %wo : tensor<1x2x16xbf16>, tensor<16x16xbf16> -> tensor<1x2x16xbf16>
  // One reduction, no gather: the cache goes back split.
  // CHECK-NOT: nova.all_gather
  // CHECK: nova.all_reduce
  // CHECK-NOT: nova.all_
  // CHECK: return
  return %o, %kc2 : tensor<1x2x16xbf16>, tensor<1x8x4x4xbf16>
}

// -----

// MoE with experts split (expert parallelism): each device evaluates its 2
// experts for the slots routed to them (the others get expert id -1, a zero
// row), moe_combine sums in f32 and one all-reduce completes it.

nova.mesh @mesh ["expert" = 2]

// CHECK-LABEL: func.func @experts
func.func @experts(%x: tensor<3x8xbf16>, %logits: tensor<3x4xf32>) -> tensor<3x8xbf16> {
  %g, %e = nova.moe_route %logits top 2 : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  // CHECK: %[[I:.*]] = nova.shard_index %{{.*}} over @mesh ["expert"] : index
  // CHECK: nova.param "moe/w" {{.*}} : tensor<2x8x8xi8>, tensor<2x1x8xbf16>
  %w, %s = nova.param "moe/w" scales <per_column> sharding <@mesh, ["expert"]>
      : tensor<4x8x8xi8>, tensor<4x1x8xbf16>
  // The local ids: e - 2 * index inside [0, 2), else -1.
  // CHECK: %[[IDS:.*]] = linalg.generic
  // CHECK: arith.cmpi sge
  // CHECK: arith.cmpi slt
  // CHECK: arith.select
  // CHECK: nova.expert_qmatmul %{{.*}}, %[[IDS]], {{.*}} -> tensor<3x2x8xf32>
  %o = nova.expert_qmatmul %x, %e, %w, %s layout <per_column>
      : tensor<3x8xbf16>, tensor<3x2xi32>, tensor<4x8x8xi8>, tensor<4x1x8xbf16> -> tensor<3x2x8xf32>
  // The gates rounded to bf16 as the bf16 combine rounds them.
  // CHECK: %[[GB:.*]] = arith.truncf %gates : tensor<3x2xf32> to tensor<3x2xbf16>
  // CHECK: %[[GF:.*]] = arith.extf %[[GB]] : tensor<3x2xbf16> to tensor<3x2xf32>
  // CHECK: %[[C:.*]] = nova.moe_combine %{{.*}}, %[[GF]] : {{.*}} -> tensor<3x8xf32>
  // CHECK: nova.all_reduce %[[C]], {{.*}} {nova.cause = "nova.moe_combine of expert-parallel nova.expert_qmatmul"}
  // CHECK: arith.truncf
  %y = nova.moe_combine %o, %g : tensor<3x2x8xf32>, tensor<3x2xf32> -> tensor<3x8xbf16>
  return %y : tensor<3x8xbf16>
}

// -----

// MoE with the hidden dimension split (Grok-1's rules): column-parallel
// linear/linear_v, row-parallel linear_1, the combine of the partial sums
// reduced once after moe_combine (it is linear in its input).

nova.mesh @mesh ["model" = 2]

// CHECK-LABEL: func.func @experts_f_split
func.func @experts_f_split(%x: tensor<3x8xbf16>, %logits: tensor<3x4xf32>) -> tensor<3x8xbf16> {
  %g, %e = nova.moe_route %logits top 2 : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  %w, %s = nova.param "moe/linear/w" scales <per_column> sharding <@mesh, [None, None, "model"]>
      : tensor<4x8x16xi8>, tensor<4x1x16xbf16>
  %w1, %s1 = nova.param "moe/linear_1/w" scales <row_blocks = 2> sharding <@mesh, [None, "model", None]>
      : tensor<4x16x8xi8>, tensor<4x2x8xbf16>
  // CHECK: nova.expert_qmatmul {{.*}} -> tensor<3x2x8xbf16>
  %h = nova.expert_qmatmul %x, %e, %w, %s layout <per_column>
      : tensor<3x8xbf16>, tensor<3x2xi32>, tensor<4x8x16xi8>, tensor<4x1x16xbf16> -> tensor<3x2x16xbf16>
  %hf = arith.extf %h : tensor<3x2x16xbf16> to tensor<3x2x16xf32>
  // CHECK: nova.expert_qmatmul {{.*}} layout <row_blocks = 1> : tensor<3x2x8xf32>, tensor<3x2xi32>, tensor<4x8x8xi8>, tensor<4x1x8xbf16> -> tensor<3x2x8xf32>
  %o = nova.expert_qmatmul %hf, %e, %w1, %s1 layout <row_blocks = 2>
      : tensor<3x2x16xf32>, tensor<3x2xi32>, tensor<4x16x8xi8>, tensor<4x2x8xbf16> -> tensor<3x2x8xf32>
  // CHECK: nova.moe_combine {{.*}} -> tensor<3x8xf32>
  // CHECK: nova.all_reduce {{.*}} : tensor<3x8xf32> -> tensor<3x8xf32>
  // CHECK-NOT: nova.all_
  %y = nova.moe_combine %o, %g : tensor<3x2x8xf32>, tensor<3x2xf32> -> tensor<3x8xbf16>
  return %y : tensor<3x8xbf16>
}

// -----

nova.mesh @mesh ["data" = 2, "model" = 2]

func.func @two_split_dims() {
  // expected-error @+1 {{splits dimensions 0 and 1 over the mesh (P('data', 'model')); nova-spmd-partition supports one split dimension per value}}
  %w = nova.param "w" sharding <@mesh, ["data", "model"]> : tensor<4x4xf32>
  return
}

// -----

nova.mesh @mesh ["model" = 2]

func.func @conflict() -> tensor<4x4xf32> {
  // expected-note @+1 {{the parameter}}
  %w = nova.param "w" sharding <@mesh, ["model"]> {nova.partition_rule = 3 : i64} : tensor<4x4xf32>
  // expected-error @+1 {{constrains a parameter to P(None, 'model'), which conflicts with the layout partition rule 3 gives it}}
  %s = nova.shard %w to <@mesh, [None, "model"]> : tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}
