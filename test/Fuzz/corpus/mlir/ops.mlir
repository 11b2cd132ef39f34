// RUN: nova-opt %s | FileCheck %s
// Round trip through the generic form must print the same pretty IR.
// RUN: nova-opt %s --mlir-print-op-generic | nova-opt | FileCheck %s
// The generic form itself names every op and attribute.
// RUN: nova-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK: nova.mesh @mesh ["data" = 1, "model" = 8]
// GENERIC: "nova.mesh"() <{axis_names = ["data", "model"], shape = array<i64: 1, 8>, sym_name = "mesh"}>
nova.mesh @mesh ["data" = 1, "model" = 8]

// CHECK-LABEL: nova.partition_rules {
// CHECK-NEXT: nova.partition_rule ["multi_head_attention", "(query|key|value)", "w"] -> <@mesh, ["data", "model"]>
// CHECK-NEXT: nova.partition_rule ["language_model", "in_out_embed", "embeddings"] -> <@mesh, [None, ("data", "model")]>
// CHECK-NEXT: nova.partition_rule ["language_model", "rms_norm"] -> <@mesh, [None]>
// CHECK-NEXT: }
// GENERIC: "nova.partition_rules"() ({
// GENERIC: "nova.partition_rule"() <{pattern = ["multi_head_attention", "(query|key|value)", "w"], spec = #nova.sharding<@mesh, ["data", "model"]>}>
nova.partition_rules {
  nova.partition_rule ["multi_head_attention", "(query|key|value)", "w"] -> <@mesh, ["data", "model"]>
  nova.partition_rule ["language_model", "in_out_embed", "embeddings"] -> #nova.sharding<@mesh, [None, ("data", "model")]>
  nova.partition_rule ["language_model", "rms_norm"] -> <@mesh, [None]>
}

// CHECK-LABEL: func.func @params
func.func @params() -> (tensor<64xf32>, tensor<64x32xi8>, tensor<4x64x32xbf16>) {
  // CHECK: %[[N:.+]] = nova.param "language_model/rms_norm/scale" : tensor<64xf32>
  // GENERIC: "nova.param"() <{path = "language_model/rms_norm/scale"}> : () -> tensor<64xf32>
  %n = nova.param "language_model/rms_norm/scale" : tensor<64xf32>
  // CHECK: %[[Q:.+]], %{{.+}} = nova.param "transformer/decoder_layer_0/multi_head_attention/query/w" scales <per_column> sharding <@mesh, ["data", "model"]> : tensor<64x32xi8>, tensor<1x32xbf16>
  // GENERIC: "nova.param"() <{path = "transformer/decoder_layer_0/multi_head_attention/query/w", scale_layout = #nova.scale_layout<per_column>, sharding = #nova.sharding<@mesh, ["data", "model"]>}> : () -> (tensor<64x32xi8>, tensor<1x32xbf16>)
  %q, %s = nova.param "transformer/decoder_layer_0/multi_head_attention/query/w"
      scales <per_column> sharding <@mesh, ["data", "model"]>
      : tensor<64x32xi8>, tensor<1x32xbf16>
  // CHECK: nova.param "transformer/decoder_layer_0/moe/linear_1/w" scales <row_blocks = 8> : tensor<4x64x32xi8>, tensor<4x8x32xbf16>
  %q1, %s1 = nova.param "transformer/decoder_layer_0/moe/linear_1/w"
      scales <row_blocks = 8> : tensor<4x64x32xi8>, tensor<4x8x32xbf16>
  // CHECK: nova.param "w/group" scales <group = 16> : tensor<64x32xi8>, tensor<4x32xf32>
  %q2, %s2 = nova.param "w/group" scales <group = 16> : tensor<64x32xi8>, tensor<4x32xf32>
  // CHECK: nova.param "w/tensor" scales <per_tensor> : tensor<64x32xi8>, tensor<1x1xf32>
  %q3, %s3 = nova.param "w/tensor" scales <per_tensor> : tensor<64x32xi8>, tensor<1x1xf32>
  // CHECK: nova.param "w/block_scalars" scales <row_block_scalars = 4> : tensor<64x32xi8>, tensor<4x1xbf16>
  %q4, %s4 = nova.param "w/block_scalars" scales <row_block_scalars = 4> : tensor<64x32xi8>, tensor<4x1xbf16>
  // CHECK: %[[W:.+]] = nova.dequantize %{{.+}}, %{{.+}} layout <row_blocks = 8> : tensor<4x64x32xi8>, tensor<4x8x32xbf16> -> tensor<4x64x32xbf16>
  %w = nova.dequantize %q1, %s1 layout <row_blocks = 8> : tensor<4x64x32xi8>, tensor<4x8x32xbf16> -> tensor<4x64x32xbf16>
  // CHECK: nova.quantize %{{.+}}, %{{.+}} layout <group = 16> : tensor<64x32xf32>, tensor<4x32xf32> -> tensor<64x32xi8>
  %f = nova.dequantize %q2, %s2 layout <group = 16> : tensor<64x32xi8>, tensor<4x32xf32> -> tensor<64x32xf32>
  %r = nova.quantize %f, %s2 layout <group = 16> : tensor<64x32xf32>, tensor<4x32xf32> -> tensor<64x32xi8>
  return %n, %r, %w : tensor<64xf32>, tensor<64x32xi8>, tensor<4x64x32xbf16>
}

// CHECK-LABEL: func.func @matmuls
func.func @matmuls(%x: tensor<2x3x64xbf16>, %w: tensor<64x32xbf16>, %e: tensor<100x64xf32>,
                   %q: tensor<64x32xi8>, %s: tensor<1x32xbf16>) -> (tensor<2x3x32xf32>, tensor<2x3x100xbf16>, tensor<2x3x32xbf16>) {
  // CHECK: nova.matmul %{{.+}}, %{{.+}} : tensor<2x3x64xbf16>, tensor<64x32xbf16> -> tensor<2x3x32xf32>
  %y = nova.matmul %x, %w : tensor<2x3x64xbf16>, tensor<64x32xbf16> -> tensor<2x3x32xf32>
  // CHECK: nova.matmul %{{.+}}, %{{.+}} transpose_rhs : tensor<2x3x64xbf16>, tensor<100x64xf32> -> tensor<2x3x100xbf16>
  // GENERIC: "nova.matmul"(%{{.+}}, %{{.+}}) <{transpose_rhs}> : (tensor<2x3x64xbf16>, tensor<100x64xf32>) -> tensor<2x3x100xbf16>
  %l = nova.matmul %x, %e transpose_rhs : tensor<2x3x64xbf16>, tensor<100x64xf32> -> tensor<2x3x100xbf16>
  // CHECK: nova.qmatmul %{{.+}}, %{{.+}}, %{{.+}} layout <per_column> : tensor<2x3x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<2x3x32xbf16>
  %z = nova.qmatmul %x, %q, %s layout <per_column> : tensor<2x3x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<2x3x32xbf16>
  return %y, %l, %z : tensor<2x3x32xf32>, tensor<2x3x100xbf16>, tensor<2x3x32xbf16>
}

// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<6x64xbf16>, %router: tensor<6x4xf32>,
               %wq: tensor<4x64x128xi8>, %ws: tensor<4x1x128xbf16>,
               %oq: tensor<4x128x64xi8>, %os: tensor<4x8x64xbf16>) -> tensor<6x64xbf16> {
  // CHECK: %[[G:.+]], %[[I:.+]] = nova.moe_route %{{.+}} top 2 : tensor<6x4xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  %g, %i = nova.moe_route %router top 2 : tensor<6x4xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  // CHECK: nova.moe_route %{{.+}} top 1 renormalize : tensor<6x4xf32> -> tensor<6x1xf32>, tensor<6x1xi32>
  // GENERIC: "nova.moe_route"(%{{.+}}) <{k = 1 : i64, operandSegmentSizes = array<i32: 1, 0, 0>, renormalize}>
  %g1, %i1 = nova.moe_route %router top 1 renormalize : tensor<6x4xf32> -> tensor<6x1xf32>, tensor<6x1xi32>
  // CHECK: %[[H:.+]] = nova.expert_qmatmul %{{.+}}, %[[I]], %{{.+}}, %{{.+}} layout <per_column> : tensor<6x64xbf16>, tensor<6x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<6x2x128xbf16>
  %h = nova.expert_qmatmul %x, %i, %wq, %ws layout <per_column>
      : tensor<6x64xbf16>, tensor<6x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<6x2x128xbf16>
  %hf = arith.extf %h : tensor<6x2x128xbf16> to tensor<6x2x128xf32>
  // CHECK: nova.gelu %{{.+}} : tensor<6x2x128xf32>
  %a = nova.gelu %hf : tensor<6x2x128xf32>
  // CHECK: nova.expert_qmatmul %{{.+}}, %[[I]], %{{.+}}, %{{.+}} layout <row_blocks = 8> : tensor<6x2x128xf32>, tensor<6x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<6x2x64xf32>
  %o = nova.expert_qmatmul %a, %i, %oq, %os layout <row_blocks = 8>
      : tensor<6x2x128xf32>, tensor<6x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<6x2x64xf32>
  // CHECK: nova.moe_combine %{{.+}}, %[[G]] : tensor<6x2x64xf32>, tensor<6x2xf32> -> tensor<6x64xbf16>
  %y = nova.moe_combine %o, %g : tensor<6x2x64xf32>, tensor<6x2xf32> -> tensor<6x64xbf16>
  return %y : tensor<6x64xbf16>
}

// Padding masks (i1 or i32, one entry per token) and forced routes.
// CHECK-LABEL: func.func @moe_mask_and_replay
func.func @moe_mask_and_replay(%router: tensor<2x3x4xf32>, %pad: tensor<2x3xi1>, %pad32: tensor<i32>,
                               %one: tensor<4xf32>) -> (tensor<2x3x2xi32>, tensor<2xi32>) {
  // CHECK: %{{.+}}, %[[REC:.+]] = nova.moe_route %{{.+}} top 2 mask(%{{.+}} : tensor<2x3xi1>) : tensor<2x3x4xf32> -> tensor<2x3x2xf32>, tensor<2x3x2xi32>
  // GENERIC: "nova.moe_route"(%{{.+}}, %{{.+}}) <{k = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 0>}>
  %g, %i = nova.moe_route %router top 2 mask(%pad : tensor<2x3xi1>) : tensor<2x3x4xf32> -> tensor<2x3x2xf32>, tensor<2x3x2xi32>
  // CHECK: nova.moe_route %{{.+}} top 2 mask(%{{.+}} : tensor<2x3xi1>) forced(%[[REC]] : tensor<2x3x2xi32>) renormalize : tensor<2x3x4xf32> -> tensor<2x3x2xf32>, tensor<2x3x2xi32>
  // GENERIC: "nova.moe_route"(%{{.+}}, %{{.+}}, %{{.+}}) <{k = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, renormalize}>
  %g2, %i2 = nova.moe_route %router top 2 mask(%pad : tensor<2x3xi1>) forced(%i : tensor<2x3x2xi32>) renormalize
      : tensor<2x3x4xf32> -> tensor<2x3x2xf32>, tensor<2x3x2xi32>
  // CHECK: nova.moe_route %{{.+}} top 2 mask(%{{.+}} : tensor<i32>) : tensor<4xf32> -> tensor<2xf32>, tensor<2xi32>
  %g3, %i3 = nova.moe_route %one top 2 mask(%pad32 : tensor<i32>) : tensor<4xf32> -> tensor<2xf32>, tensor<2xi32>
  // CHECK: nova.moe_route %{{.+}} top 2 forced(%{{.+}} : tensor<2xi32>) : tensor<4xf32> -> tensor<2xf32>, tensor<2xi32>
  %g4, %i4 = nova.moe_route %one top 2 forced(%i3 : tensor<2xi32>) : tensor<4xf32> -> tensor<2xf32>, tensor<2xi32>
  return %i2, %i4 : tensor<2x3x2xi32>, tensor<2xi32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<2x8x64xbf16>, %scale: tensor<64xf32>, %table: tensor<100x64xf32>,
                       %ids: tensor<2x8xi32>) -> (tensor<2x8x64xbf16>, tensor<2x8x64xbf16>, tensor<2x8x64xbf16>) {
  // CHECK: nova.rms_norm %{{.+}}, %{{.+}} eps 9.99999974E-6 : tensor<2x8x64xbf16>, tensor<64xf32> -> tensor<2x8x64xbf16>
  // GENERIC: "nova.rms_norm"(%{{.+}}, %{{.+}}) <{eps = 9.99999974E-6 : f32}>
  %n = nova.rms_norm %x, %scale eps 1.0e-5 : tensor<2x8x64xbf16>, tensor<64xf32> -> tensor<2x8x64xbf16>
  // CHECK: nova.silu %{{.+}} : tensor<2x8x64xbf16>
  %s = nova.silu %n : tensor<2x8x64xbf16>
  // CHECK: nova.softmax %{{.+}} axis 2 : tensor<2x8x64xbf16>
  %p = nova.softmax %s axis 2 : tensor<2x8x64xbf16>
  // CHECK: nova.embedding %{{.+}}[%{{.+}}] : tensor<100x64xf32>, tensor<2x8xi32> -> tensor<2x8x64xbf16>
  %e = nova.embedding %table[%ids] : tensor<100x64xf32>, tensor<2x8xi32> -> tensor<2x8x64xbf16>
  return %n, %p, %e : tensor<2x8x64xbf16>, tensor<2x8x64xbf16>, tensor<2x8x64xbf16>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x4x2x16xbf16>, %v: tensor<1x4x2x16xbf16>,
                     %kc: tensor<1x32x2x16xbf16>, %vc: tensor<1x32x2x16xbf16>,
                     %positions: tensor<1x4xi32>, %offset: tensor<1xi32>)
    -> (tensor<1x4x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>) {
  // CHECK: %[[QR:.+]] = nova.rope %{{.+}}, %{{.+}} base 1.000000e+04 : tensor<1x4x8x16xbf16>, tensor<1x4xi32> -> tensor<1x4x8x16xbf16>
  %qr = nova.rope %q, %positions base 10000.0 : tensor<1x4x8x16xbf16>, tensor<1x4xi32> -> tensor<1x4x8x16xbf16>
  %kr = nova.rope %k, %positions base 10000.0 : tensor<1x4x2x16xbf16>, tensor<1x4xi32> -> tensor<1x4x2x16xbf16>
  // CHECK: %[[KC:.+]] = nova.kv_cache_update %{{.+}}, %{{.+}}, %{{.+}} : tensor<1x32x2x16xbf16>, tensor<1x4x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
  %kc2 = nova.kv_cache_update %kc, %kr, %offset : tensor<1x32x2x16xbf16>, tensor<1x4x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
  %vc2 = nova.kv_cache_update %vc, %v, %offset : tensor<1x32x2x16xbf16>, tensor<1x4x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
  // CHECK: nova.attention %[[QR]], %[[KC]], %{{.+}}, %{{.+}} scale 2.500000e-01 cap 3.000000e+01 : tensor<1x4x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x4x8x16xbf16>
  %o = nova.attention %qr, %kc2, %vc2, %offset scale 0.25 cap 30.0
      : tensor<1x4x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x4x8x16xbf16>
  // CHECK: nova.attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} scale 2.500000e-01 : tensor
  // GENERIC: "nova.attention"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{scale = 2.500000e-01 : f32}>
  %o2 = nova.attention %qr, %kc2, %vc2, %offset scale 0.25
      : tensor<1x4x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x4x8x16xbf16>
  return %o, %kc2, %vc2 : tensor<1x4x8x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>
}

// CHECK-LABEL: func.func @sample
func.func @sample(%l: tensor<2x100xbf16>, %t: tensor<2xf32>, %p: tensor<2xf32>, %m: tensor<2x100xi32>,
                  %g: tensor<2x100xbf16>, %seed: tensor<i64>, %step: tensor<i32>) -> (tensor<2xi32>, tensor<2xi32>) {
  // CHECK: nova.sample %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} seed %{{.+}} step %{{.+}} top_k 8 : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x100xi32>, tensor<i64>, tensor<i32>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  // GENERIC: "nova.sample"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0>, top_k = 8 : i64}>
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p mask %m seed %seed step %step top_k 8
      : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x100xi32>, tensor<i64>, tensor<i32>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>)
  // CHECK: nova.sample %{{.+}}, %{{.+}}, %{{.+}} noise %{{.+}} top_k 3 : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x100xbf16>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x3xi32>, tensor<2x3xbf16>)
  %tok2, %prob2, %ids2, %probs2 = nova.sample %l, %t, %p noise %g top_k 3
      : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x100xbf16>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x3xi32>, tensor<2x3xbf16>)
  return %tok, %tok2 : tensor<2xi32>, tensor<2xi32>
}

// Row seeds, the stage logits, and the nucleus filter on its own.
// CHECK-LABEL: func.func @sample_stages
func.func @sample_stages(%l: tensor<2x100xbf16>, %t: tensor<2xf32>, %p: tensor<2xf32>, %seed: tensor<i64>,
                         %step: tensor<i32>, %rows: tensor<2xi64>) -> (tensor<2xi32>, tensor<2x100xbf16>, tensor<2x100xbf16>) {
  // CHECK: %[[TOK:.+]], %{{.+}}, %{{.+}}, %{{.+}}, %[[STAGES:.+]]:3 = nova.sample %{{.+}}, %{{.+}}, %{{.+}} seed %{{.+}} step %{{.+}} row_seeds %{{.+}} top_k 8 stages : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>, tensor<2xi64>) -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x100xbf16>, tensor<2x100xbf16>, tensor<2x100xbf16>)
  // GENERIC: "nova.sample"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 1, 1>, stages, top_k = 8 : i64}>
  %tok, %prob, %ids, %probs, %scaled, %masked, %filtered = nova.sample %l, %t, %p seed %seed step %step row_seeds %rows top_k 8 stages
      : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<i32>, tensor<2xi64>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x8xi32>, tensor<2x8xbf16>, tensor<2x100xbf16>, tensor<2x100xbf16>, tensor<2x100xbf16>)
  // CHECK: %[[F:.+]] = nova.top_p_filter %[[STAGES]]#1, %{{.+}} : tensor<2x100xbf16>, tensor<2xf32> -> tensor<2x100xbf16>
  // GENERIC: "nova.top_p_filter"(%{{.+}}, %{{.+}}) : (tensor<2x100xbf16>, tensor<2xf32>) -> tensor<2x100xbf16>
  %f = nova.top_p_filter %masked, %p : tensor<2x100xbf16>, tensor<2xf32> -> tensor<2x100xbf16>
  // CHECK: return %[[TOK]], %[[STAGES]]#2, %[[F]]
  return %tok, %filtered, %f : tensor<2xi32>, tensor<2x100xbf16>, tensor<2x100xbf16>
}

// CHECK-LABEL: func.func @shard
func.func @shard(%x: tensor<8x64xbf16>) -> tensor<8x64xbf16> {
  // CHECK: nova.shard %{{.+}} to <@mesh, [None, "model"]> : tensor<8x64xbf16>
  // GENERIC: "nova.shard"(%{{.+}}) <{spec = #nova.sharding<@mesh, [None, "model"]>}>
  %y = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x64xbf16>
  // CHECK: nova.shard %{{.+}} to <@mesh, [("model", "data")]> : tensor<8x64xbf16>
  %z = nova.shard %y to <@mesh, [("model", "data")]> : tensor<8x64xbf16>
  return %z : tensor<8x64xbf16>
}
