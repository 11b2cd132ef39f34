// RUN: nova-opt %s --nova-apply-partition-rules --split-input-file --verify-diagnostics | FileCheck %s

// Matching semantics (grok1-semantics.md §2.2-2.3): a rule matches a
// contiguous window of path tokens anywhere in the path, each regex matching
// its whole token; the first matching rule wins; scales share the weight's
// spec; "layer_stack" prepends a replicated dimension.

nova.mesh @mesh ["data" = 2, "model" = 4]
nova.partition_rules {
  nova.partition_rule ["language_model", "rms_norm"] -> <@mesh, [None]>
  nova.partition_rule ["attn", "(query|key)", "w"] -> <@mesh, ["data", "model"]>
  nova.partition_rule ["decoder_layer_[0-9]+", "linear", "w"] -> <@mesh, ["model"]>
  nova.partition_rule ["linear", "w"] -> <@mesh, [None, "model"]>
  nova.partition_rule ["moe", "w"] -> <@mesh, [None, ("data", "model")]>
  nova.partition_rule ["w"] -> <@mesh, ["data"]>
}

// CHECK-LABEL: func.func @matching
func.func @matching() {
  // A window in the middle of the path, not just a suffix.
  // CHECK: nova.param "language_model/rms_norm/scale" sharding <@mesh, [None]> {nova.partition_rule = 0 : i64}
  %0 = nova.param "language_model/rms_norm/scale" : tensor<8xf32>
  // Alternation inside a group matches whole tokens only.
  // CHECK: nova.param "t/attn/key/w" sharding <@mesh, ["data", "model"]> {nova.partition_rule = 1 : i64}
  %1 = nova.param "t/attn/key/w" : tensor<8x8xf32>
  // "key_proj" is not "key": rule 1 does not match; rule 5 ("w") does.
  // CHECK: nova.param "t/attn/key_proj/w" sharding <@mesh, ["data"]> {nova.partition_rule = 5 : i64}
  %2 = nova.param "t/attn/key_proj/w" : tensor<8x8xf32>
  // Rules 2 and 3 both match; the earlier one wins.
  // CHECK: nova.param "t/decoder_layer_12/linear/w" sharding <@mesh, ["model"]> {nova.partition_rule = 2 : i64}
  %3 = nova.param "t/decoder_layer_12/linear/w" : tensor<8x8xf32>
  // "moe" sits between the layer and "linear": rule 2 needs them adjacent.
  // CHECK: nova.param "t/decoder_layer_12/moe/linear/w" sharding <@mesh, [None, "model"]> {nova.partition_rule = 3 : i64}
  %4 = nova.param "t/decoder_layer_12/moe/linear/w" : tensor<8x8xf32>
  // A quantized weight's scales take the weight's spec; the size-1 scale row
  // is broadcast.
  // CHECK: nova.param "t/moe/w" scales <per_column> sharding <@mesh, [None, ("data", "model")]> {nova.partition_rule = 4 : i64} : tensor<8x16xi8>, tensor<1x16xbf16>
  %5, %6 = nova.param "t/moe/w" scales <per_column> : tensor<8x16xi8>, tensor<1x16xbf16>
  // layer_stack prepends None.
  // CHECK: nova.param "t/layer_stack/linear/w" sharding <@mesh, [None, None, "model"]> {nova.partition_rule = 3 : i64} : tensor<2x8x8xf32>
  %7 = nova.param "t/layer_stack/linear/w" : tensor<2x8x8xf32>
  // Case-sensitive.
  // CHECK: nova.param "t/ATTN/key/w" sharding <@mesh, ["data"]> {nova.partition_rule = 5 : i64}
  %8 = nova.param "t/ATTN/key/w" : tensor<8x8xf32>
  return
}

// Every op with the same path gets the same spec.
// CHECK-LABEL: func.func @second_use
// CHECK: nova.param "t/attn/key/w" sharding <@mesh, ["data", "model"]>
func.func @second_use() {
  %1 = nova.param "t/attn/key/w" : tensor<8x8xf32>
  return
}

// -----

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  nova.partition_rule ["a", "w"] -> <@mesh, ["model"]>
  // expected-warning @below {{partition rule 1 is shadowed: each of the 1 parameters it matches is taken by an earlier rule (e.g. 'a/w' by rule 0)}}
  nova.partition_rule ["w"] -> <@mesh, [None]>
  // expected-warning @below {{partition rule 2 matches no parameter}}
  nova.partition_rule ["b", "w"] -> <@mesh, [None]>
  // A rule longer than the path never matches.
  // expected-warning @below {{partition rule 3 matches no parameter}}
  nova.partition_rule ["x", "a", "w"] -> <@mesh, [None]>
}
func.func @warnings() {
  %0 = nova.param "a/w" : tensor<8xf32>
  return
}

// -----

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  nova.partition_rule ["w"] -> <@mesh, ["model"]>
}
func.func @unmatched() {
  // expected-error @below {{parameter 'a/scale' matches no partition rule (add a rule, or pass --allow-unmatched to replicate it)}}
  %0 = nova.param "a/scale" : tensor<8xf32>
  %1 = nova.param "a/w" : tensor<8xf32>
  return
}

// -----

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  // expected-note @below {{the rule is here}}
  nova.partition_rule ["w"] -> <@mesh, [None, "model"]>
}
func.func @not_divisible() {
  // expected-error @below {{rule 0 (}}
  %0 = nova.param "a/w" : tensor<8x6xf32>
  return
}

// -----

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  // expected-note @below {{the rule is here}}
  nova.partition_rule ["w"] -> <@mesh, ["model"]>
}
func.func @scales_not_divisible() {
  // The weight splits, but a 2-row block scale table cannot split 4 ways.
  // expected-error @below {{gives 'a/w' the spec P('model'), but dimension 0 of the scales (shape [2, 6], size 2) is not divisible by 4 (mesh axes 'model')}}
  %0, %1 = nova.param "a/w" scales <row_blocks = 2> : tensor<8x6xi8>, tensor<2x6xbf16>
  return
}

// -----

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  // expected-note @below {{the rule is here}}
  nova.partition_rule ["w"] -> <@mesh, [None, None, "model"]>
}
func.func @too_long() {
  // expected-error @below {{gives 'a/w' the spec P(None, None, 'model'), but the parameter has only 2 dimensions [8, 8]}}
  %0 = nova.param "a/w" : tensor<8x8xf32>
  return
}

// -----

// expected-error @below {{expected one 'nova.partition_rules' op in the module (pass partition rules with --rules), got 0}}
module {
  func.func @no_rules() {
    %0 = nova.param "a/w" : tensor<8xf32>
    return
  }
}
