// RUN: nova-opt %s -split-input-file -verify-diagnostics

// Valid boundary cases first: a size-1 dimension may carry any axes, and a
// spec may be shorter than the tensor's rank.
nova.mesh @mesh ["data" = 2, "model" = 8]
func.func @boundary() -> tensor<1x16xi8> {
  %q, %s = nova.param "a/w" scales <per_column> sharding <@mesh, [("data", "model")]>
      : tensor<16x16xi8>, tensor<1x16xbf16>
  %r = nova.param "a/r" sharding <@mesh, ["data"]> : tensor<2x3x5xf32>
  %t = nova.param "a/t" : tensor<1x16xi8>
  return %t : tensor<1x16xi8>
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// -----
func.func @bad_layout_kind(%q: tensor<4x4xi8>, %s: tensor<1x4xf32>) -> tensor<4x4xf32> {
  // expected-error @below {{expected one of per_tensor, per_column, row_blocks, group, row_block_scalars, got 'per_row'}}
  %w = nova.dequantize %q, %s layout <per_row> : tensor<4x4xi8>, tensor<1x4xf32> -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----
func.func @bad_layout_size(%q: tensor<4x4xi8>, %s: tensor<1x4xf32>) -> tensor<4x4xf32> {
  // expected-error @below {{expected a positive row_blocks size, got 0}}
  %w = nova.dequantize %q, %s layout <row_blocks = 0> : tensor<4x4xi8>, tensor<1x4xf32> -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----
func.func @bad_group_size(%q: tensor<4x4xi8>, %s: tensor<1x4xf32>) -> tensor<4x4xf32> {
  // expected-error @below {{expected a positive group size, got -2}}
  %w = nova.dequantize %q, %s layout <group = -2> : tensor<4x4xi8>, tensor<1x4xf32> -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
func.func @empty_axis() {
  // expected-error @below {{expected a non-empty mesh axis name}}
  %w = nova.param "a/w" sharding <@mesh, [""]> : tensor<8xf32>
  return
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
func.func @repeated_axis() {
  // expected-error @below {{expected each mesh axis at most once, got 'model' twice}}
  %w = nova.param "a/w" sharding <@mesh, ["model", ("data", "model")]> : tensor<8x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// nova.mesh
//===----------------------------------------------------------------------===//

// -----
// expected-error @below {{expected one size per axis name, got 2 names and 1 sizes}}
"nova.mesh"() <{axis_names = ["data", "model"], shape = array<i64: 8>, sym_name = "m"}> : () -> ()

// -----
// expected-error @below {{expected at least one axis, got none}}
nova.mesh @m []

// -----
// expected-error @below {{expected non-empty axis names, got ""}}
nova.mesh @m ["" = 2]

// -----
// expected-error @below {{expected unique axis names, got 'x' twice}}
nova.mesh @m ["x" = 2, "x" = 4]

// -----
// expected-error @below {{expected axis 'x' to have a positive size, got 0}}
nova.mesh @m ["x" = 0]

//===----------------------------------------------------------------------===//
// nova.partition_rules / nova.partition_rule
//===----------------------------------------------------------------------===//

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected only 'nova.partition_rule' ops inside 'nova.partition_rules', got 'nova.mesh'}}
  nova.mesh @inner ["x" = 1]
}

// -----
// Valid boundary: an empty rule (Grok-1: it never matches) is allowed.
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  nova.partition_rule [] -> <@mesh, [None]>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected a valid regex for token 1, got '(query|key': mismatched parentheses '(' and ')'}}
  nova.partition_rule ["attn", "(query|key", "w"] -> <@mesh, [None]>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected a valid regex for token 0, got '*w': a repeat ('*', '+', '?' or '{') with nothing to repeat}}
  nova.partition_rule ["*w"] -> <@mesh, [None]>
}

// -----
// RE2 syntax: a back reference is an error, echoed as printable ASCII.
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected a valid regex for token 0, got '(a)\\1\n': back reference '\\1' is not supported: partition-rule regexes use RE2 syntax, which has no back references}}
  nova.partition_rule ["(a)\\1\n"] -> <@mesh, [None]>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected '@grid' to name a nova.mesh, got no such symbol}}
  nova.partition_rule ["w"] -> <@grid, [None]>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
nova.partition_rules {
  // expected-error @below {{expected a mesh axis of @mesh ('data', 'model'), got 'expert'}}
  nova.partition_rule ["w"] -> <@mesh, [None, "expert"]>
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
// expected-error @below {{expects parent op 'nova.partition_rules'}}
nova.partition_rule ["w"] -> <@mesh, [None]>

//===----------------------------------------------------------------------===//
// nova.param
//===----------------------------------------------------------------------===//

// -----
func.func @empty_path() {
  // expected-error @below {{expected a non-empty parameter path, got ""}}
  %w = nova.param "" : tensor<8xf32>
  return
}

// -----
// Valid boundary: empty tokens are kept, as Grok-1's "a//w" -> a, "", w.
func.func @empty_token() {
  %w = nova.param "a//w" : tensor<8xf32>
  return
}

// -----
func.func @layout_without_scales() {
  // expected-error @below {{expected a scales result for a parameter with a 'scales' layout, got none}}
  %w = "nova.param"() <{path = "a/w", scale_layout = #nova.scale_layout<per_column>}> : () -> tensor<8x8xi8>
  return
}

// -----
func.func @scales_without_layout() {
  // expected-error @below {{expected a 'scales' layout for a parameter with a scales result, got none}}
  %w, %s = "nova.param"() <{path = "a/w"}> : () -> (tensor<8x8xi8>, tensor<1x8xbf16>)
  return
}

// -----
func.func @quantized_not_i8() {
  // expected-error @below {{expected quantized weight element type 'i8', got 'i32'}}
  %w, %s = nova.param "a/w" scales <per_column> : tensor<8x8xi32>, tensor<1x8xbf16>
  return
}

// -----
func.func @quantized_rank1() {
  // expected-error @below {{expected a weight of rank >= 2 ([B..., K, N]), got [8]}}
  %w, %s = nova.param "a/w" scales <per_column> : tensor<8xi8>, tensor<1x8xbf16>
  return
}

// -----
func.func @scales_shape() {
  // expected-error @below {{expected scales of shape [4, 1, 32] for a weight of shape [4, 64, 32] with #nova.scale_layout<per_column>, got [4, 8, 32]}}
  %w, %s = nova.param "a/w" scales <per_column> : tensor<4x64x32xi8>, tensor<4x8x32xbf16>
  return
}

// -----
func.func @row_blocks_divisible() {
  // expected-error @below {{expected the weight's K = 60 to be divisible by row_blocks = 8, got remainder 4}}
  %w, %s = nova.param "a/w" scales <row_blocks = 8> : tensor<60x32xi8>, tensor<8x32xbf16>
  return
}

// -----
func.func @group_divisible() {
  // expected-error @below {{expected the weight's K = 60 to be divisible by group = 16, got remainder 12}}
  %w, %s = nova.param "a/w" scales <group = 16> : tensor<60x32xi8>, tensor<4x32xbf16>
  return
}

// -----
func.func @param_no_mesh() {
  // expected-error @below {{expected '@mesh' to name a nova.mesh, got no such symbol}}
  %w = nova.param "a/w" sharding <@mesh, [None]> : tensor<8xf32>
  return
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
func.func @param_unknown_axis() {
  // expected-error @below {{expected a mesh axis of @mesh ('data', 'model'), got 'expert'}}
  %w = nova.param "a/w" sharding <@mesh, ["expert"]> : tensor<8xf32>
  return
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
func.func @param_spec_rank() {
  // expected-error @below {{expected a partition spec of at most 1 dimensions for shape [8], got 2}}
  %w = nova.param "a/w" sharding <@mesh, [None, "model"]> : tensor<8xf32>
  return
}

// -----
nova.mesh @mesh ["data" = 2, "model" = 8]
func.func @param_not_divisible() {
  // expected-error @below {{expected dimension 1 of shape [16, 24] to be divisible by 16 (mesh axes ('data', 'model')), got size 24}}
  %w = nova.param "a/w" sharding <@mesh, [None, ("data", "model")]> : tensor<16x24xf32>
  return
}

// -----
nova.mesh @mesh ["data" = 1, "model" = 16]
func.func @scales_not_divisible() {
  // A G = 8 row-block scale table cannot follow a 16-way row split (§6.11).
  // expected-error @below {{expected dimension 0 of shape [8, 32] to be divisible by 16 (mesh axes 'model'), got size 8}}
  %w, %s = nova.param "a/w" scales <row_blocks = 8> sharding <@mesh, ["model"]> : tensor<64x32xi8>, tensor<8x32xbf16>
  return
}

//===----------------------------------------------------------------------===//
// nova.shard
//===----------------------------------------------------------------------===//

// -----
nova.mesh @mesh ["data" = 1, "model" = 8]
func.func @shard_not_divisible(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @below {{expected dimension 1 of shape [4, 6] to be divisible by 8 (mesh axes 'model'), got size 6}}
  %y = nova.shard %x to <@mesh, [None, "model"]> : tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

// -----
func.func @quantize_result_shape(%x: tensor<4x4xf32>, %s: tensor<1x4xf32>) -> tensor<4x8xi8> {
  // expected-error @below {{expected result of shape [4, 4], got [4, 8]}}
  %q = nova.quantize %x, %s layout <per_column> : tensor<4x4xf32>, tensor<1x4xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----
func.func @quantize_scales(%x: tensor<4x4xf32>, %s: tensor<1x4xf32>) -> tensor<4x4xi8> {
  // expected-error @below {{expected scales of shape [1, 1] for a weight of shape [4, 4] with #nova.scale_layout<per_tensor>, got [1, 4]}}
  %q = nova.quantize %x, %s layout <per_tensor> : tensor<4x4xf32>, tensor<1x4xf32> -> tensor<4x4xi8>
  return %q : tensor<4x4xi8>
}

// -----
func.func @quantize_result_type(%x: tensor<4x4xf32>, %s: tensor<1x4xf32>) -> tensor<4x4xi32> {
  // expected-error @below {{result #0 must be statically shaped tensor of 8-bit signless integer values}}
  %q = nova.quantize %x, %s layout <per_column> : tensor<4x4xf32>, tensor<1x4xf32> -> tensor<4x4xi32>
  return %q : tensor<4x4xi32>
}

// -----
func.func @dequantize_result_shape(%q: tensor<4x4xi8>, %s: tensor<1x4xbf16>) -> tensor<4x5xbf16> {
  // expected-error @below {{expected result of shape [4, 4], got [4, 5]}}
  %w = nova.dequantize %q, %s layout <per_column> : tensor<4x4xi8>, tensor<1x4xbf16> -> tensor<4x5xbf16>
  return %w : tensor<4x5xbf16>
}

// -----
func.func @dequantize_result_type(%q: tensor<4x4xi8>, %s: tensor<1x4xbf16>) -> tensor<4x4xf32> {
  // expected-error @below {{expected result (the scales' type) element type 'bf16', got 'f32'}}
  %w = nova.dequantize %q, %s layout <per_column> : tensor<4x4xi8>, tensor<1x4xbf16> -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----
func.func @dynamic_shape(%q: tensor<?x4xi8>, %s: tensor<1x4xbf16>) -> tensor<4x4xbf16> {
  // expected-error @below {{operand #0 must be statically shaped tensor of 8-bit signless integer values}}
  %w = nova.dequantize %q, %s layout <per_column> : tensor<?x4xi8>, tensor<1x4xbf16> -> tensor<4x4xbf16>
  return %w : tensor<4x4xbf16>
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

// -----
func.func @matmul_lhs_rank0(%x: tensor<f32>, %w: tensor<4x4xf32>) -> tensor<4xf32> {
  // expected-error @below {{expected an lhs of rank >= 1 ([..., K]), got rank 0}}
  %y = nova.matmul %x, %w : tensor<f32>, tensor<4x4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----
func.func @matmul_rhs_rank(%x: tensor<2x4xf32>, %w: tensor<2x4x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{expected a weight of rank 2 ([K, N]), got rank 3}}
  %y = nova.matmul %x, %w : tensor<2x4xf32>, tensor<2x4x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----
func.func @matmul_k(%x: tensor<2x4xf32>, %w: tensor<5x3xf32>) -> tensor<2x3xf32> {
  // expected-error @below {{expected the weight's K dimension to equal the lhs's last dimension 4, got 5}}
  %y = nova.matmul %x, %w : tensor<2x4xf32>, tensor<5x3xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----
func.func @matmul_transposed_k(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{expected the weight's K dimension to equal the lhs's last dimension 4, got 3}}
  %y = nova.matmul %x, %w transpose_rhs : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----
func.func @matmul_result(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{expected result of shape [2, 3], got [2, 4]}}
  %y = nova.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----
func.func @qmatmul_layout(%x: tensor<2x4xbf16>, %q: tensor<4x3xi8>, %s: tensor<2x3xbf16>) -> tensor<2x3xbf16> {
  // expected-error @below {{expected scales of shape [1, 3] for a weight of shape [4, 3] with #nova.scale_layout<per_column>, got [2, 3]}}
  %y = nova.qmatmul %x, %q, %s layout <per_column> : tensor<2x4xbf16>, tensor<4x3xi8>, tensor<2x3xbf16> -> tensor<2x3xbf16>
  return %y : tensor<2x3xbf16>
}

// -----
func.func @qmatmul_result(%x: tensor<2x4xbf16>, %q: tensor<4x3xi8>, %s: tensor<1x3xbf16>) -> tensor<3x3xbf16> {
  // expected-error @below {{expected result of shape [2, 3], got [3, 3]}}
  %y = nova.qmatmul %x, %q, %s layout <per_column> : tensor<2x4xbf16>, tensor<4x3xi8>, tensor<1x3xbf16> -> tensor<3x3xbf16>
  return %y : tensor<3x3xbf16>
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

// -----
func.func @route_rank0(%l: tensor<f32>) -> tensor<1xf32> {
  // expected-error @below {{expected router logits of rank >= 1 ([..., E]), got rank 0}}
  %g, %i = nova.moe_route %l top 1 : tensor<f32> -> tensor<1xf32>, tensor<1xi32>
  return %g : tensor<1xf32>
}

// -----
func.func @route_k(%l: tensor<4x8xf32>) -> tensor<4x9xf32> {
  // expected-error @below {{expected k <= 8 (the number of experts), got 9}}
  %g, %i = nova.moe_route %l top 9 : tensor<4x8xf32> -> tensor<4x9xf32>, tensor<4x9xi32>
  return %g : tensor<4x9xf32>
}

// -----
func.func @route_k_zero(%l: tensor<4x8xf32>) -> tensor<4x0xf32> {
  // expected-error @below {{attribute 'k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %g, %i = nova.moe_route %l top 0 : tensor<4x8xf32> -> tensor<4x0xf32>, tensor<4x0xi32>
  return %g : tensor<4x0xf32>
}

// -----
func.func @route_gates(%l: tensor<4x8xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{expected gates of shape [4, 2], got [4, 3]}}
  %g, %i = nova.moe_route %l top 2 : tensor<4x8xf32> -> tensor<4x3xf32>, tensor<4x2xi32>
  return %g : tensor<4x3xf32>
}

// -----
func.func @route_indices(%l: tensor<4x8xf32>) -> tensor<4x2xf32> {
  // expected-error @below {{expected indices of shape [4, 2], got [2, 4]}}
  %g, %i = nova.moe_route %l top 2 : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<2x4xi32>
  return %g : tensor<4x2xf32>
}

// -----
func.func @route_bf16(%l: tensor<4x8xbf16>) -> tensor<4x2xf32> {
  // expected-error @below {{operand #0 must be statically shaped tensor of 32-bit float values}}
  %g, %i = nova.moe_route %l top 2 : tensor<4x8xbf16> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %g : tensor<4x2xf32>
}

// -----
func.func @route_mask_shape(%l: tensor<4x8xf32>, %m: tensor<8xi1>) -> tensor<4x2xf32> {
  // expected-error @below {{expected mask (one entry per token) of shape [4], got [8]}}
  %g, %i = nova.moe_route %l top 2 mask(%m : tensor<8xi1>) : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %g : tensor<4x2xf32>
}

// -----
func.func @route_mask_type(%l: tensor<4x8xf32>, %m: tensor<4xf32>) -> tensor<4x2xf32> {
  // expected-error @below {{operand #1 must be statically shaped tensor of 1-bit signless integer or 32-bit signless integer values, but got 'tensor<4xf32>'}}
  %g, %i = nova.moe_route %l top 2 mask(%m : tensor<4xf32>) : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %g : tensor<4x2xf32>
}

// -----
func.func @route_forced_shape(%l: tensor<4x8xf32>, %f: tensor<4x3xi32>) -> tensor<4x2xf32> {
  // expected-error @below {{expected forced routes of shape [4, 2], got [4, 3]}}
  %g, %i = nova.moe_route %l top 2 forced(%f : tensor<4x3xi32>) : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %g : tensor<4x2xf32>
}

// -----
// A valid boundary case: one token ([E] logits, a scalar mask), forced.
func.func @route_one_token(%l: tensor<8xf32>, %m: tensor<i32>, %f: tensor<2xi32>) -> tensor<2xf32> {
  %g, %i = nova.moe_route %l top 2 mask(%m : tensor<i32>) forced(%f : tensor<2xi32>) : tensor<8xf32> -> tensor<2xf32>, tensor<2xi32>
  return %g : tensor<2xf32>
}

// -----
func.func @experts_rank(%x: tensor<4x8xbf16>, %e: tensor<4xi32>, %q: tensor<2x8x6xi8>, %s: tensor<2x1x6xbf16>) -> tensor<4x1x6xbf16> {
  // expected-error @below {{expected experts of rank 2 ([M, k]), got rank 1}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x8xbf16>, tensor<4xi32>, tensor<2x8x6xi8>, tensor<2x1x6xbf16> -> tensor<4x1x6xbf16>
  return %y : tensor<4x1x6xbf16>
}

// -----
func.func @experts_weight_rank(%x: tensor<4x8xbf16>, %e: tensor<4x2xi32>, %q: tensor<8x6xi8>, %s: tensor<1x6xbf16>) -> tensor<4x2x6xbf16> {
  // expected-error @below {{expected weight of rank 3 ([E, K, N]), got rank 2}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x8xbf16>, tensor<4x2xi32>, tensor<8x6xi8>, tensor<1x6xbf16> -> tensor<4x2x6xbf16>
  return %y : tensor<4x2x6xbf16>
}

// -----
func.func @experts_input(%x: tensor<4x7xbf16>, %e: tensor<4x2xi32>, %q: tensor<2x8x6xi8>, %s: tensor<2x1x6xbf16>) -> tensor<4x2x6xbf16> {
  // expected-error @below {{expected input ([M, K]) of shape [4, 8], got [4, 7]}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x7xbf16>, tensor<4x2xi32>, tensor<2x8x6xi8>, tensor<2x1x6xbf16> -> tensor<4x2x6xbf16>
  return %y : tensor<4x2x6xbf16>
}

// -----
func.func @experts_input3(%x: tensor<4x1x8xbf16>, %e: tensor<4x2xi32>, %q: tensor<2x8x6xi8>, %s: tensor<2x1x6xbf16>) -> tensor<4x2x6xbf16> {
  // expected-error @below {{expected input ([M, k, K]) of shape [4, 2, 8], got [4, 1, 8]}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x1x8xbf16>, tensor<4x2xi32>, tensor<2x8x6xi8>, tensor<2x1x6xbf16> -> tensor<4x2x6xbf16>
  return %y : tensor<4x2x6xbf16>
}

// -----
func.func @experts_input_rank(%x: tensor<8xbf16>, %e: tensor<4x2xi32>, %q: tensor<2x8x6xi8>, %s: tensor<2x1x6xbf16>) -> tensor<4x2x6xbf16> {
  // expected-error @below {{expected an input of rank 2 ([M, K]) or 3 ([M, k, K]), got rank 1}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<8xbf16>, tensor<4x2xi32>, tensor<2x8x6xi8>, tensor<2x1x6xbf16> -> tensor<4x2x6xbf16>
  return %y : tensor<4x2x6xbf16>
}

// -----
func.func @experts_scales(%x: tensor<4x8xbf16>, %e: tensor<4x2xi32>, %q: tensor<2x8x6xi8>, %s: tensor<1x1x6xbf16>) -> tensor<4x2x6xbf16> {
  // expected-error @below {{expected scales of shape [2, 1, 6] for a weight of shape [2, 8, 6] with #nova.scale_layout<per_column>, got [1, 1, 6]}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x8xbf16>, tensor<4x2xi32>, tensor<2x8x6xi8>, tensor<1x1x6xbf16> -> tensor<4x2x6xbf16>
  return %y : tensor<4x2x6xbf16>
}

// -----
func.func @experts_result(%x: tensor<4x8xbf16>, %e: tensor<4x2xi32>, %q: tensor<2x8x6xi8>, %s: tensor<2x1x6xbf16>) -> tensor<4x6xbf16> {
  // expected-error @below {{expected result of shape [4, 2, 6], got [4, 6]}}
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <per_column> : tensor<4x8xbf16>, tensor<4x2xi32>, tensor<2x8x6xi8>, tensor<2x1x6xbf16> -> tensor<4x6xbf16>
  return %y : tensor<4x6xbf16>
}

// -----
func.func @combine_rank(%o: tensor<4x8xf32>, %g: tensor<4x2xf32>) -> tensor<4x8xbf16> {
  // expected-error @below {{expected expert outputs of rank 3 ([M, k, D]), got rank 2}}
  %y = nova.moe_combine %o, %g : tensor<4x8xf32>, tensor<4x2xf32> -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----
func.func @combine_gates(%o: tensor<4x2x8xf32>, %g: tensor<4x3xf32>) -> tensor<4x8xbf16> {
  // expected-error @below {{expected gates of shape [4, 2], got [4, 3]}}
  %y = nova.moe_combine %o, %g : tensor<4x2x8xf32>, tensor<4x3xf32> -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----
func.func @combine_result(%o: tensor<4x2x8xf32>, %g: tensor<4x2xf32>) -> tensor<4x2x8xbf16> {
  // expected-error @below {{expected result of shape [4, 8], got [4, 2, 8]}}
  %y = nova.moe_combine %o, %g : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x2x8xbf16>
  return %y : tensor<4x2x8xbf16>
}

//===----------------------------------------------------------------------===//
// Normalization, softmax, embedding
//===----------------------------------------------------------------------===//

// -----
func.func @rms_rank0(%x: tensor<bf16>, %s: tensor<1xf32>) -> tensor<bf16> {
  // expected-error @below {{expected an input of rank >= 1 ([..., D]), got rank 0}}
  %y = nova.rms_norm %x, %s eps 1.0e-5 : tensor<bf16>, tensor<1xf32> -> tensor<bf16>
  return %y : tensor<bf16>
}

// -----
func.func @rms_scale(%x: tensor<2x8xbf16>, %s: tensor<4xf32>) -> tensor<2x8xbf16> {
  // expected-error @below {{expected scale of shape [8], got [4]}}
  %y = nova.rms_norm %x, %s eps 1.0e-5 : tensor<2x8xbf16>, tensor<4xf32> -> tensor<2x8xbf16>
  return %y : tensor<2x8xbf16>
}

// -----
func.func @rms_result(%x: tensor<2x8xbf16>, %s: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @below {{expected result type 'tensor<2x8xbf16>' (the input's), got 'tensor<2x8xf32>'}}
  %y = nova.rms_norm %x, %s eps 1.0e-5 : tensor<2x8xbf16>, tensor<8xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----
func.func @rms_eps(%x: tensor<2x8xbf16>, %s: tensor<8xf32>) -> tensor<2x8xbf16> {
  // expected-error @below {{attribute 'eps' failed to satisfy constraint: 32-bit float attribute whose value is finite and non-negative}}
  %y = nova.rms_norm %x, %s eps -1.0 : tensor<2x8xbf16>, tensor<8xf32> -> tensor<2x8xbf16>
  return %y : tensor<2x8xbf16>
}

// -----
func.func @gelu_type(%x: tensor<2x8xbf16>) -> tensor<2x8xf32> {
  // expected-error @below {{requires the same type for all operands and results}}
  %y = "nova.gelu"(%x) : (tensor<2x8xbf16>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----
func.func @silu_int(%x: tensor<2x8xi32>) -> tensor<2x8xi32> {
  // expected-error @below {{operand #0 must be statically shaped tensor of bfloat16 type or 16-bit float or 32-bit float values}}
  %y = nova.silu %x : tensor<2x8xi32>
  return %y : tensor<2x8xi32>
}

// -----
func.func @softmax_axis(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @below {{expected an axis < 2 (the input's rank), got 2}}
  %y = nova.softmax %x axis 2 : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----
func.func @embedding_table(%t: tensor<100xf32>, %ids: tensor<2xi32>) -> tensor<2xbf16> {
  // expected-error @below {{expected table of rank 2 ([V, D]), got rank 1}}
  %y = nova.embedding %t[%ids] : tensor<100xf32>, tensor<2xi32> -> tensor<2xbf16>
  return %y : tensor<2xbf16>
}

// -----
func.func @embedding_result(%t: tensor<100x16xf32>, %ids: tensor<2x3xi32>) -> tensor<2x16xbf16> {
  // expected-error @below {{expected result of shape [2, 3, 16], got [2, 16]}}
  %y = nova.embedding %t[%ids] : tensor<100x16xf32>, tensor<2x3xi32> -> tensor<2x16xbf16>
  return %y : tensor<2x16xbf16>
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// -----
func.func @rope_rank(%x: tensor<2x4x16xbf16>, %p: tensor<2x4xi32>) -> tensor<2x4x16xbf16> {
  // expected-error @below {{expected input of rank 4 ([B, T, H, Dh]), got rank 3}}
  %y = nova.rope %x, %p base 10000.0 : tensor<2x4x16xbf16>, tensor<2x4xi32> -> tensor<2x4x16xbf16>
  return %y : tensor<2x4x16xbf16>
}

// -----
func.func @rope_odd(%x: tensor<2x4x2x15xbf16>, %p: tensor<2x4xi32>) -> tensor<2x4x2x15xbf16> {
  // expected-error @below {{expected an even head dimension, got 15}}
  %y = nova.rope %x, %p base 10000.0 : tensor<2x4x2x15xbf16>, tensor<2x4xi32> -> tensor<2x4x2x15xbf16>
  return %y : tensor<2x4x2x15xbf16>
}

// -----
func.func @rope_positions(%x: tensor<2x4x2x16xbf16>, %p: tensor<2xi32>) -> tensor<2x4x2x16xbf16> {
  // expected-error @below {{expected positions ([B, T]) of shape [2, 4], got [2]}}
  %y = nova.rope %x, %p base 10000.0 : tensor<2x4x2x16xbf16>, tensor<2xi32> -> tensor<2x4x2x16xbf16>
  return %y : tensor<2x4x2x16xbf16>
}

// -----
func.func @rope_base(%x: tensor<2x4x2x16xbf16>, %p: tensor<2x4xi32>) -> tensor<2x4x2x16xbf16> {
  // expected-error @below {{attribute 'base' failed to satisfy constraint: 32-bit float attribute whose value is finite and positive}}
  %y = nova.rope %x, %p base 0.0 : tensor<2x4x2x16xbf16>, tensor<2x4xi32> -> tensor<2x4x2x16xbf16>
  return %y : tensor<2x4x2x16xbf16>
}

// -----
func.func @rope_result(%x: tensor<2x4x2x16xbf16>, %p: tensor<2x4xi32>) -> tensor<2x4x2x16xf32> {
  // expected-error @below {{expected result type 'tensor<2x4x2x16xbf16>' (the input's), got 'tensor<2x4x2x16xf32>'}}
  %y = nova.rope %x, %p base 10000.0 : tensor<2x4x2x16xbf16>, tensor<2x4xi32> -> tensor<2x4x2x16xf32>
  return %y : tensor<2x4x2x16xf32>
}

// -----
func.func @kv_cache_rank(%c: tensor<2x32x16xbf16>, %u: tensor<2x1x2x16xbf16>, %p: tensor<2xi32>) -> tensor<2x32x16xbf16> {
  // expected-error @below {{expected cache of rank 4 ([B, S, H, Dh]), got rank 3}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32> -> tensor<2x32x16xbf16>
  return %y : tensor<2x32x16xbf16>
}

// -----
func.func @kv_update_rank(%c: tensor<2x32x2x16xbf16>, %u: tensor<2x2x16xbf16>, %p: tensor<2xi32>) -> tensor<2x32x2x16xbf16> {
  // expected-error @below {{expected update of rank 4 ([B, T, H, Dh]), got rank 3}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x2x16xbf16>, tensor<2x2x16xbf16>, tensor<2xi32> -> tensor<2x32x2x16xbf16>
  return %y : tensor<2x32x2x16xbf16>
}

// -----
func.func @kv_update_shape(%c: tensor<2x32x2x16xbf16>, %u: tensor<2x1x4x16xbf16>, %p: tensor<2xi32>) -> tensor<2x32x2x16xbf16> {
  // expected-error @below {{expected update of shape [2, 1, 2, 16], got [2, 1, 4, 16]}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x2x16xbf16>, tensor<2x1x4x16xbf16>, tensor<2xi32> -> tensor<2x32x2x16xbf16>
  return %y : tensor<2x32x2x16xbf16>
}

// -----
func.func @kv_update_type(%c: tensor<2x32x2x16xbf16>, %u: tensor<2x1x2x16xf32>, %p: tensor<2xi32>) -> tensor<2x32x2x16xbf16> {
  // expected-error @below {{expected update (the cache's) element type 'bf16', got 'f32'}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x2x16xbf16>, tensor<2x1x2x16xf32>, tensor<2xi32> -> tensor<2x32x2x16xbf16>
  return %y : tensor<2x32x2x16xbf16>
}

// -----
func.func @kv_update_too_long(%c: tensor<2x4x2x16xbf16>, %u: tensor<2x5x2x16xbf16>, %p: tensor<2xi32>) -> tensor<2x4x2x16xbf16> {
  // expected-error @below {{expected at most 4 new entries (the cache length), got 5}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x4x2x16xbf16>, tensor<2x5x2x16xbf16>, tensor<2xi32> -> tensor<2x4x2x16xbf16>
  return %y : tensor<2x4x2x16xbf16>
}

// -----
func.func @kv_positions(%c: tensor<2x32x2x16xbf16>, %u: tensor<2x1x2x16xbf16>, %p: tensor<2x1xi32>) -> tensor<2x32x2x16xbf16> {
  // expected-error @below {{expected positions ([B]) of shape [2], got [2, 1]}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2x1xi32> -> tensor<2x32x2x16xbf16>
  return %y : tensor<2x32x2x16xbf16>
}

// -----
func.func @kv_result(%c: tensor<2x32x2x16xbf16>, %u: tensor<2x1x2x16xbf16>, %p: tensor<2xi32>) -> tensor<2x16x2x16xbf16> {
  // expected-error @below {{expected result type 'tensor<2x32x2x16xbf16>' (the input's), got 'tensor<2x16x2x16xbf16>'}}
  %y = nova.kv_cache_update %c, %u, %p : tensor<2x32x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32> -> tensor<2x16x2x16xbf16>
  return %y : tensor<2x16x2x16xbf16>
}

// -----
func.func @attn_q_rank(%q: tensor<1x8x16xbf16>, %k: tensor<1x32x2x16xbf16>, %p: tensor<1xi32>) -> tensor<1x8x16xbf16> {
  // expected-error @below {{expected query of rank 4 ([B, T, Hq, Dh]), got rank 3}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x8x16xbf16>
  return %o : tensor<1x8x16xbf16>
}

// -----
func.func @attn_k_rank(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected keys of rank 4 ([B, S, Hkv, Dh]), got rank 3}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x16xbf16>, tensor<1x32x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_values(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x2x16xbf16>, %v: tensor<1x16x2x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected values of type 'tensor<1x32x2x16xbf16>' (the keys'), got 'tensor<1x16x2x16xbf16>'}}
  %o = nova.attention %q, %k, %v, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x16x2x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_batch(%q: tensor<1x1x8x16xbf16>, %k: tensor<2x32x2x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected keys with batch size 1 (the query's), got 2}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<2x32x2x16xbf16>, tensor<2x32x2x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_head_dim(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x2x8xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected keys with head dimension 16 (the query's), got 8}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x2x8xbf16>, tensor<1x32x2x8xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_groups(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x3x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected the 8 query heads to be a multiple of the KV heads, got 3 KV heads}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x3x16xbf16>, tensor<1x32x3x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_positions(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x2x16xbf16>, %p: tensor<1x1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{expected positions ([B]) of shape [1], got [1, 1]}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_cap(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x2x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xbf16> {
  // expected-error @below {{attribute 'cap' failed to satisfy constraint: 32-bit float attribute whose value is finite and positive}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 cap -30.0 : tensor<1x1x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xbf16>
  return %o : tensor<1x1x8x16xbf16>
}

// -----
func.func @attn_result(%q: tensor<1x1x8x16xbf16>, %k: tensor<1x32x2x16xbf16>, %p: tensor<1xi32>) -> tensor<1x1x8x16xf32> {
  // expected-error @below {{expected result type 'tensor<1x1x8x16xbf16>' (the input's), got 'tensor<1x1x8x16xf32>'}}
  %o = nova.attention %q, %k, %k, %p scale 0.25 : tensor<1x1x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

// -----
func.func @sample_rank(%l: tensor<16xbf16>, %t: tensor<1xf32>, %g: tensor<16xbf16>) -> tensor<1xi32> {
  // expected-error @below {{expected logits of rank 2 ([B, V]), got rank 1}}
  %tok, %p, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<16xbf16>, tensor<1xf32>, tensor<1xf32>, tensor<16xbf16>) -> (tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>)
  return %tok : tensor<1xi32>
}

// -----
func.func @sample_temperature(%l: tensor<2x16xbf16>, %t: tensor<1xf32>, %p: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected temperature of shape [2], got [1]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %p noise %g top_k 8 : (tensor<2x16xbf16>, tensor<1xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_top_p(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %p: tensor<2x1xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected top_p of shape [2], got [2, 1]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %p noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2x1xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_mask(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %m: tensor<2x15xi32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected mask of shape [2, 16], got [2, 15]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t mask %m noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x15xi32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_noise_shape(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<1x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected noise of shape [2, 16], got [1, 16]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<1x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_noise_type(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xf32>) -> tensor<2xi32> {
  // expected-error @below {{expected noise (the logits') element type 'bf16', got 'f32'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xf32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_seed_shape(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %seed: tensor<2xi64>, %step: tensor<i32>) -> tensor<2xi32> {
  // expected-error @below {{expected seed (a scalar) of shape [], got [2]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed step %step top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2xi64>, tensor<i32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_step_shape(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %seed: tensor<i64>, %step: tensor<1xi32>) -> tensor<2xi32> {
  // expected-error @below {{expected step (a scalar) of shape [], got [1]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed step %step top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<1xi32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_seed_alone(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %seed: tensor<i64>) -> tensor<2xi32> {
  // expected-error @below {{expected 'seed' and 'step' together, got only 'seed'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_step_alone(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %step: tensor<i32>) -> tensor<2xi32> {
  // expected-error @below {{expected 'seed' and 'step' together, got only 'step'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t step %step top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_neither(%l: tensor<2x16xbf16>, %t: tensor<2xf32>) -> tensor<2xi32> {
  // expected-error @below {{expected either 'noise' or 'seed' and 'step', got neither}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_both(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>, %seed: tensor<i64>, %step: tensor<i32>) -> tensor<2xi32> {
  // expected-error @below {{expected either 'noise' or 'seed' and 'step', got both}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g seed %seed step %step top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>, tensor<i64>, tensor<i32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_top_k(%l: tensor<2x4xbf16>, %t: tensor<2xf32>, %g: tensor<2x4xbf16>) -> tensor<2xi32> {
  // Grok-1's top_k(…, 8) fails for V < 8 (§4.4); Nova rejects it up front.
  // expected-error @below {{expected top_k <= 4 (the vocabulary size), got 8}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x4xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x4xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_vocab_too_large(%l: tensor<1x4194305xbf16>, %t: tensor<1xf32>, %seed: tensor<i64>, %step: tensor<i32>) -> tensor<1xi32> {
  // The masses of a row must sum exactly in 64 bits (docs/semantics.md).
  // expected-error @below {{expected at most 4194304 logits per row (V), got 4194305}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed step %step top_k 8 : (tensor<1x4194305xbf16>, tensor<1xf32>, tensor<1xf32>, tensor<i64>, tensor<i32>) -> (tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>)
  return %tok : tensor<1xi32>
}

// -----
func.func @top_p_filter_vocab_too_large(%l: tensor<2x4194305xf32>, %p: tensor<2xf32>) -> tensor<2x4194305xf32> {
  // expected-error @below {{expected at most 4194304 logits per row (V), got 4194305}}
  %f = nova.top_p_filter %l, %p : tensor<2x4194305xf32>, tensor<2xf32> -> tensor<2x4194305xf32>
  return %f : tensor<2x4194305xf32>
}

// -----
func.func @sample_row_seeds_shape(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %seed: tensor<i64>, %step: tensor<i32>, %r: tensor<3xi64>) -> tensor<2xi32> {
  // expected-error @below {{expected row_seeds of shape [2], got [3]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed step %step row_seeds %r top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>, tensor<3xi64>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_row_seeds_noise(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>, %r: tensor<2xi64>) -> tensor<2xi32> {
  // expected-error @below {{expected 'row_seeds' with 'seed' and 'step', got 'noise'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g row_seeds %r top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>, tensor<2xi64>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_row_seeds_type(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %seed: tensor<i64>, %step: tensor<i32>, %r: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @below {{operand #5 must be statically shaped tensor of 64-bit signless integer values, but got 'tensor<2xi32>'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t seed %seed step %step row_seeds %r top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>, tensor<2xi32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_stages_missing(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected 3 stage results (scaled, masked and filtered logits) with 'stages', got 2}}
  %tok, %pr, %i, %ps, %s, %m = nova.sample %l, %t, %t noise %g top_k 8 stages : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x16xbf16>, tensor<2x16xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_stages_unasked(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected no stage results without 'stages', got 1}}
  %tok, %pr, %i, %ps, %s = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x16xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_stages_type(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected the masked logits of type 'tensor<2x16xbf16>' (the logits'), got 'tensor<2x16xf32>'}}
  %tok, %pr, %i, %ps, %s, %m, %f = nova.sample %l, %t, %t noise %g top_k 8 stages : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x16xbf16>, tensor<2x16xf32>, tensor<2x16xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @top_p_filter_rank(%l: tensor<16xbf16>, %p: tensor<1xf32>) -> tensor<16xbf16> {
  // expected-error @below {{expected logits of rank 2 ([B, V]), got rank 1}}
  %f = nova.top_p_filter %l, %p : tensor<16xbf16>, tensor<1xf32> -> tensor<16xbf16>
  return %f : tensor<16xbf16>
}

// -----
func.func @top_p_filter_top_p(%l: tensor<2x16xbf16>, %p: tensor<3xf32>) -> tensor<2x16xbf16> {
  // expected-error @below {{expected top_p of shape [2], got [3]}}
  %f = nova.top_p_filter %l, %p : tensor<2x16xbf16>, tensor<3xf32> -> tensor<2x16xbf16>
  return %f : tensor<2x16xbf16>
}

// -----
func.func @top_p_filter_result(%l: tensor<2x16xbf16>, %p: tensor<2xf32>) -> tensor<2x16xf32> {
  // expected-error @below {{expected result type 'tensor<2x16xbf16>' (the input's), got 'tensor<2x16xf32>'}}
  %f = nova.top_p_filter %l, %p : tensor<2x16xbf16>, tensor<2xf32> -> tensor<2x16xf32>
  return %f : tensor<2x16xf32>
}

// -----
func.func @sample_top_k_zero(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 0 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x0xi32>, tensor<2x0xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_token(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2x1xi32> {
  // expected-error @below {{expected token of shape [2], got [2, 1]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2x1xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2x1xi32>
}

// -----
func.func @sample_prob_shape(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected prob of shape [2], got [1]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<1xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_prob_type(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected prob (the logits') element type 'bf16', got 'f32'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xf32>, tensor<2x8xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_top_ids(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected top_ids of shape [2, 8], got [2, 4]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x4xi32>, tensor<2x8xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_top_probs(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected top_probs of shape [2, 8], got [2, 16]}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x16xbf16>)
  return %tok : tensor<2xi32>
}

// -----
func.func @sample_top_probs_type(%l: tensor<2x16xbf16>, %t: tensor<2xf32>, %g: tensor<2x16xbf16>) -> tensor<2xi32> {
  // expected-error @below {{expected top_probs (the logits') element type 'bf16', got 'f32'}}
  %tok, %pr, %i, %ps = nova.sample %l, %t, %t noise %g top_k 8 : (tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x16xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xf32>)
  return %tok : tensor<2xi32>
}
