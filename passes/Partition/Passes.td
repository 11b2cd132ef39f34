//===- Passes.td - Partition passes ------------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PARTITION_PASSES_TD
#define NOVA_PASSES_PARTITION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// ApplyPartitionRules
//===----------------------------------------------------------------------===//

def ApplyPartitionRulesPass
    : Pass<"nova-apply-partition-rules", "::mlir::ModuleOp"> {
  let summary = "Resolve partition rules into per-parameter shardings";
  let description = [{
    For every parameter path `p` (the `path` of `nova.param` ops):

        tokens(p) = split(p, "/")
        rule(p)   = first rule r in nova.partition_rules such that some
                    window tokens(p)[i .. i+|r|) matches r's regexes one
                    for one (each regex matching its whole token)
        spec(p)   = spec(rule(p)), with a leading None prepended when the
                    token "layer_stack" occurs in tokens(p)

    and sets `sharding = spec(p)` on every `nova.param` with that path (a
    quantized parameter's scales share the weight's spec) plus the
    discardable attribute `nova.partition_rule` = the rule's index. This is
    Grok-1's `apply_rules` (grok1-semantics.md §2) with strict whole-token
    regex matching.

    Preconditions: the module holds exactly one `nova.partition_rules` op and
    the `nova.mesh` its specs name.

    Diagnostics, beyond Grok-1 (which only logs an unmatched path):
    * a parameter that no rule matches is an error (with
      `allow-unmatched`, a warning, and the parameter is replicated);
    * a spec that does not fit the parameter (more entries than dimensions,
      or a sharded dimension not divisible by its mesh axes) is an error at
      the parameter, with a note at the rule;
    * a rule that matches no parameter is a warning;
    * a rule that matches parameters but is shadowed by earlier rules for
      every one of them is a warning.
  }];
  let options = [
    Option<"allowUnmatched", "allow-unmatched", "bool", /*default=*/"false",
           "Replicate parameters no rule matches (with a warning) instead of "
           "failing">
  ];
  let dependentDialects = ["::mlir::nova::NovaDialect"];
}

#endif // NOVA_PASSES_PARTITION_PASSES_TD
