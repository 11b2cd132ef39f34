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

//===----------------------------------------------------------------------===//
// SpmdPartition
//===----------------------------------------------------------------------===//

def SpmdPartitionPass : Pass<"nova-spmd-partition", "::mlir::ModuleOp"> {
  let summary = "Partition every entry into one device's program with "
                "collectives";
  let description = [{
    For a module with one `nova.mesh` of more than one device: rewrites each
    entry into the program every device runs (SPMD). Parameters become this
    device's shard (their `sharding`, from the partition rules, is
    authoritative); `nova.shard` constraints re-lay their operand out; every
    other value's layout is propagated forward. Ops that consume split
    operands without communication: elementwise ops, reshapes and static
    slices that keep the split dimension whole, column-parallel (`[K, N]`
    split on N) and row-parallel (split on K; partial sums in f32, one
    `nova.all_reduce`) `nova.matmul`/`nova.qmatmul`, the same three for
    `nova.expert_qmatmul` plus expert parallelism (experts split: each
    device evaluates its experts, `nova.moe_combine` sums, one all-reduce),
    `nova.embedding` with the model dimension split, `nova.rms_norm` and
    `nova.rope` on a split middle dimension, `nova.kv_cache_update` and
    `nova.attention` with heads split. Any other op gets whole operands
    (`nova.all_gather` / `nova.all_reduce` as needed); entry results are
    whole. Each collective carries `nova.cause` (why it exists) and the
    location of the op that caused it.

    The entry gains a trailing `i32` argument (`nova.communicator`): the MPI
    communicator of the mesh, rank r = device r in row-major mesh order. The
    manifest (`nova.manifest`) is derived before partitioning, so it keeps
    the model's global shapes and the partition specs.

    With `max-collective-bytes` > 0, a collective that moves more bytes per
    call per device is an error at its location.
  }];
  let options = [
    Option<"maxCollectiveBytes", "max-collective-bytes", "int64_t",
           /*default=*/"0",
           "Fail when a collective moves more bytes per call per device "
           "(0: no limit)">
  ];
  let dependentDialects = ["::mlir::nova::NovaDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // NOVA_PASSES_PARTITION_PASSES_TD
