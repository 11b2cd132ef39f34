//===- NovaOps.td - Nova operations ------------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Each op's description is its exact semantics; the reference interpreter
// (runtime/interpreter) implements this text, and every compiled backend is
// checked against the interpreter.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVAOPS_TD
#define NOVA_DIALECT_NOVAOPS_TD

include "dialect/NovaDialect.td"
include "dialect/NovaAttrs.td"
include "dialect/NovaTypes.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// Base of every Nova op. Project-wide invariant: Nova ops are value
/// semantics on statically shaped tensors; each one verifies its shapes and
/// element types with "expected X, got Y" messages.
class Nova_Op<string mnemonic, list<Trait> traits = []>
    : Op<Nova_Dialect, mnemonic, traits>;

/// Pure graph-level computation.
class Nova_PureOp<string mnemonic, list<Trait> traits = []>
    : Nova_Op<mnemonic, !listconcat([Pure], traits)> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Meshes and partition rules (§2)
//===----------------------------------------------------------------------===//

def Nova_MeshOp : Nova_Op<"mesh", [Symbol]> {
  let summary = "a named device mesh with named axes";
  let description = [{
    Declares a logical device mesh: an ordered list of axes, each with a name
    and a size, e.g. Grok-1's `local_mesh_config=(1, 8)` with axis names
    `("data", "model")` (§0). Shardings (`#nova.sharding`) refer to it by
    symbol and to its axes by name. The CPU lowering compiles one device's
    program and erases meshes; an SPMD lowering onto upstream `shard.grid`
    (same shape; the names are Nova's) does not exist yet.

    ```mlir
    nova.mesh @mesh ["data" = 1, "model" = 8]
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       StrArrayAttr:$axis_names,
                       DenseI64ArrayAttr:$shape);
  let assemblyFormat = [{
    $sym_name custom<MeshAxes>($axis_names, $shape) attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Size of the axis named `name`, or std::nullopt if there is none.
    std::optional<int64_t> getAxisSize(::llvm::StringRef name);
    /// Product of all axis sizes.
    int64_t getNumDevices();
  }];
}

def Nova_PartitionRulesOp : Nova_Op<"partition_rules",
    [NoTerminator, SingleBlock, NoRegionArguments]> {
  let summary = "an ordered list of partition rules";
  let description = [{
    Holds `nova.partition_rule` ops in priority order: the first rule that
    matches a parameter path wins (§2.3). `nova-apply-partition-rules` reads
    them and attaches the winning spec to every `nova.param`.

    ```mlir
    nova.partition_rules {
      nova.partition_rule ["router", "w"] -> <@mesh, ["data"]>
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins)>];
}

def Nova_PartitionRuleOp : Nova_Op<"partition_rule",
    [HasParent<"PartitionRulesOp">,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a window of per-token regexes mapped to a partition spec";
  let description = [{
    A parameter path is split on `/` into tokens (§2.1). The rule matches the
    path when some contiguous window of tokens, starting anywhere, matches the
    regexes one for one (§2.2). Each regex must match its whole token
    (ECMAScript syntax, `std::regex_match`): Nova uses strict full-token
    matching, so unlike Python's `re.match(r + "$")` a top-level alternation
    `query|key` does not match `query_proj`, and `w` does not match `"w\n"`.
    Matching is case-sensitive. A rule with more regexes than the path has
    tokens never matches, and neither does a rule with none (Grok-1's
    `_match`; `nova-apply-partition-rules` warns about it). A spec of no
    entries (`[]`, what a YAML `spec: null` — Grok-1's `None` replacement —
    imports as) replicates the parameter. The rule's location is where it came from (the
    YAML line for imported rules) and is what diagnostics point at.

    ```mlir
    nova.partition_rule ["multi_head_attention", "(query|key|value)", "w"]
        -> <@mesh, ["data", "model"]>
    ```
  }];
  let arguments = (ins StrArrayAttr:$pattern, Nova_ShardingAttr:$spec);
  let assemblyFormat = "$pattern `->` $spec attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Parameters and sharding annotations
//===----------------------------------------------------------------------===//

def Nova_ParamOp : Nova_PureOp<"param",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a named model parameter";
  let description = [{
    The value of the parameter at hierarchical path `path`, e.g.
    `transformer/decoder_layer_3/moe/linear/w` (Haiku's module path followed
    by the parameter name; §2.1). The path is what partition rules match and
    what checkpoints are keyed by. Paths are non-empty; empty `/` pieces are
    kept as empty tokens, as Grok-1 does (`a//b` is `a`, `""`, `b`). Two `nova.param` ops with the same path in one module denote the
    same parameter and must agree on types and layout.

    A quantized parameter (Grok-1's `QuantizedWeight8bit`, §1.1) has two
    results, the int8 weight and its scales, and a `scales` layout (see
    `#nova.scale_layout`); a checkpoint stores them as `<path>` and
    `<path>.scales`. It is one parameter for partitioning: the weight and its
    scales carry the same `sharding` (§2.3).

    `sharding`, when present, is the parameter's partition spec, normally set
    by `nova-apply-partition-rules`; it must name axes of its mesh and divide
    every sharded dimension of the weight and of the scales (dimensions of
    size 1 are broadcast and always allowed).

    `local` marks one device's shard in a per-device (SPMD) program made by
    `nova-spmd-partition`: the result types are the device's block under
    `sharding`, while `sharding` and the scale layout describe the whole
    parameter. The verifier checks that the types are the shard of the whole
    shape they imply (each split extent times its shard count; the
    partitioner never splits a dimension of size 1).

    ```mlir
    %n = nova.param "language_model/rms_norm/scale" : tensor<6144xf32>
    %q, %s = nova.param "transformer/decoder_layer_0/moe/linear_1/w"
        scales <row_blocks = 8>
        : tensor<8x32768x6144xi8>, tensor<8x8x6144xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$path,
                       OptionalAttr<Nova_ScaleLayoutAttr>:$scale_layout,
                       OptionalAttr<Nova_ShardingAttr>:$sharding,
                       UnitAttr:$local);
  let results = (outs Nova_ParamTensor:$value,
                      Optional<Nova_ScaleTensor>:$scales);
  let assemblyFormat = [{
    $path (`scales` $scale_layout^)? (`sharding` $sharding^)? (`local` $local^)?
    attr-dict `:` type($value) (`,` type($scales)^)?
  }];
  let extraClassDeclaration = [{
    /// True for an int8 weight with scales.
    bool isQuantized() { return getScales() != nullptr; }
  }];
}

def Nova_ShardOp : Nova_PureOp<"shard",
    [SameOperandsAndResultType,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "annotates a value with a partition spec";
  let description = [{
    Returns its operand unchanged and records that the value is laid out
    over the mesh as `spec` says (Grok-1's `with_sharding_constraint`). The
    spec must name axes of its mesh and divide every sharded dimension.
    Parameters carry their spec as an attribute instead (`nova.param`).
    Folding: `shard(shard(x, s), s)` is `shard(x, s)`.

    ```mlir
    %y = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x6144xbf16>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, Nova_ShardingAttr:$spec);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `to` $spec attr-dict `:` type($result)";
  let hasFolder = 1;
  let hasVerifier = 0;
}

//===----------------------------------------------------------------------===//
// Quantization (§1)
//===----------------------------------------------------------------------===//

def Nova_QuantizeOp : Nova_PureOp<"quantize"> {
  let summary = "quantizes a float tensor to int8 with given scales";
  let description = [{
    For a weight-shaped input `x : [B..., K, N]` and scales `s` laid out as
    `layout` says (`#nova.scale_layout`):

        q = clamp(roundeven(f32(x) / f32(s_b)), -128, 127)

    where `s_b` is the scale of the element's block, the division is an IEEE
    f32 division, `roundeven` rounds half to even, and the clamp saturates
    (±inf saturate to 127 / -128). NaN quantizes to 0 (Nova's choice). Note
    upstream `quant.qcast` truncates and does not saturate full-range i8, so
    Nova does not lower through it.

    ```mlir
    %q = nova.quantize %w, %s layout <per_column>
        : tensor<64x32xf32>, tensor<1x32xf32> -> tensor<64x32xi8>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_ScaleTensor:$scales,
                       Nova_ScaleLayoutAttr:$layout);
  let results = (outs Nova_I8Tensor:$result);
  let assemblyFormat = [{
    $input `,` $scales `layout` $layout attr-dict
    `:` type($input) `,` type($scales) `->` type($result)
  }];
}

def Nova_DequantizeOp : Nova_PureOp<"dequantize"> {
  let summary = "dequantizes an int8 weight with its scales";
  let description = [{
    For `q : [B..., K, N]` int8 and scales `s` of element type `T` laid out as
    `layout` says, the result has element type `T` and

        W[b..., r, n] = round_T(f32(q[b..., r, n]) · f32(s_block(r, n)))

    The product of an int8 and a bf16 has at most 15 significant bits and is
    exact in f32, so for bf16 scales the result is bit-exact: one RNE rounding
    to bf16, as Grok-1's `Linear` and MoE compute `weight * scales` (§1.3).
    The result element type must equal the scales' element type (JAX
    promotion of int8 · T is T).

    ```mlir
    %w = nova.dequantize %q, %s layout <row_blocks = 8>
        : tensor<6144x6144xi8>, tensor<8x6144xbf16> -> tensor<6144x6144xbf16>
    ```
  }];
  let arguments = (ins Nova_I8Tensor:$input, Nova_ScaleTensor:$scales,
                       Nova_ScaleLayoutAttr:$layout);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scales `layout` $layout attr-dict
    `:` type($input) `,` type($scales) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Matmuls (§1.3, §3.3)
//===----------------------------------------------------------------------===//

def Nova_MatmulOp : Nova_PureOp<"matmul"> {
  let summary = "float matmul over the last axis of the lhs";
  let description = [{
    `x : [..., K]` times `w : [K, N]` (or `w : [N, K]` with `transpose_rhs`)
    gives `y : [..., N]` with

        y[..., n] = round_R(Σ_k f32(x[..., k]) · f32(w[k, n]))

    accumulated in at least f32 (order unspecified) and rounded once to the
    result element type `R`. Operand element types may differ: Grok-1's MoE
    down projection multiplies an f32 input by a bf16 weight into f32 (§3.3
    step 5). With `transpose_rhs` the weight is indexed `w[n, k]`, which is
    how the tied-embedding decode `logits = h · Eᵀ` reads the `[V, D]`
    embedding table (§0).

    ```mlir
    %y = nova.matmul %h, %e transpose_rhs
        : tensor<1x6144xbf16>, tensor<131072x6144xbf16> -> tensor<1x131072xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$lhs, Nova_FloatTensor:$rhs,
                       UnitAttr:$transpose_rhs);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose_rhs` $transpose_rhs^)? attr-dict
    `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

def Nova_QMatmulOp : Nova_PureOp<"qmatmul"> {
  let summary = "matmul with an int8 weight and its scales";
  let description = [{
    `x : [..., K]` times the quantized weight `(q : [K, N] int8, s)` with
    scale layout `layout` gives `y : [..., N]`:

        y[..., n] = round_R(Σ_k f32(x[..., k]) · f32(W[k, n]))
        W = nova.dequantize(q, s, layout)     (element type of s; bit-exact)

    i.e. exactly `nova.matmul(x, nova.dequantize(q, s))`, Grok-1's quantized
    `Linear` (§1.3): dequantize to the scale type with one RNE rounding,
    multiply, accumulate in at least f32, round once to `R`. Backends fuse the
    dequantization into the reduction and never materialize `W`. Unlike
    Grok-1's `Linear` (§1.4) the leading dimensions of `x` are kept.

    **`int8_activations`** (the opt-in fast numerics, `--numerics=fast`):
    each row of `x` is quantized to int8 on the fly and the products are
    summed exactly as integers, as int8 dot-product hardware does. For a
    row `x[m, :]` with B = K / G weight rows per scale block:

        a  = max_k |f32(x[m, k])|                 (NaN if any is NaN)
        d  = f32(a / 127),  r = f32(127 / a)      (d = r = 0 when
                                                   a < 2^-64; d = NaN,
                                                   r = 0 when a is not
                                                   finite)
        xq[k] = int(min(max(roundeven(f32(x[m, k] · r)), -127), 127))
        S_c[n] = Σ_{k in c} xq[k] · q[k, n]       (exact: an integer)
        t[n] = fma(f32(S_c[n]), f32(s[block(c), n]), t[n])  over the chunks
               c in order, from t = +0
        y[m, n] = round_R(f32(t[n] · d))

    where max/min take the number over a NaN, and the chunks c split each
    scale block into runs of L rows, L the largest divisor of B that is at
    most 1024 (so that |S_c| < 2^24 and f32(S_c) is exact). The scale
    type's rounding of `q · s` is not applied. This is exact integer
    arithmetic with a fixed order of f32 operations, so every backend gives
    the same bits; its distance from the exact result is bounded in
    docs/tolerance.md (dominated by (a / 254) · Σ_k |W[k, n]|).
    `nova.expert_qmatmul` has no fast numerics.

    ```mlir
    %y = nova.qmatmul %x, %q, %s layout <per_column>
        : tensor<1x6144xbf16>, tensor<6144x1024xi8>, tensor<1x1024xbf16>
        -> tensor<1x1024xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_I8Tensor:$weight,
                       Nova_ScaleTensor:$scales, Nova_ScaleLayoutAttr:$layout,
                       UnitAttr:$int8_activations);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales `layout` $layout attr-dict
    `:` type($input) `,` type($weight) `,` type($scales) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Mixture of experts (§3)
//===----------------------------------------------------------------------===//

def Nova_MoeRouteOp : Nova_PureOp<"moe_route", [AttrSizedOperandSegments]> {
  let summary = "router softmax and top-k expert selection";
  let description = [{
    For router logits `l : [..., E]` (f32, §3.1), per token t:

        p = softmax(l[t]) over the E experts, in f32
        (gates, indices) = top-k of p, descending

    `indices : [..., k]` (i32) are the selected experts in descending order of
    probability; **equal probabilities put the lower expert index first**
    (JAX `lax.top_k`, §3.2). NaN ranks above every number (XLA's total
    order), and among NaNs the lower index comes first. `gates : [..., k]`
    (f32) are the raw probabilities `p[indices]` (Grok-1: not renormalised,
    so they sum to less than 1); with `renormalize` each is divided (in f32)
    by their sum over the token's slots (accumulated in f64 in slot order,
    rounded to f32). There is no capacity limit and no token dropping
    (§3.2).

    **Expert id -1 means "no expert"**: such a slot has gate 0, and
    `nova.expert_qmatmul` gives it a zero row without computing it, so
    `nova.moe_combine` adds nothing for it.

    Padding mask: with `mask(%m : [...])` (i1 or i32, one entry per token,
    non-zero = a real token), a masked token (entry 0) selects no expert:
    every slot gets index -1 and gate 0, whatever its logits (NaN
    included), so its MoE output is exactly 0. Grok-1's router accepts a
    `padding_mask` but its MoE layer drops it and routes pad tokens like
    any other (§3.1); Nova applies it.

    Forced routes (routing replay): with `forced(%f : [..., k])` (i32) the
    experts are given instead of selected: `indices = f` as given (order
    and duplicates kept) and `gates[t, j] = p[f[t, j]]`, the probability
    this op's logits give the forced expert, renormalized over the token's
    slots as above with `renormalize`. A forced id of -1 is a slot without
    an expert (index -1, gate 0, left out of the renormalizing sum); any
    other id outside `[0, E)` is a run-time error (the interpreter reports
    it; compiled code treats it as -1). The mask, if given, wins: a masked
    token's slots are -1 whatever `f` holds. Recording is the `indices`
    result: fed back as `forced` with the same logits, it reproduces the
    recorded gates and indices bit for bit on the same backend; with
    another engine's logits, it gives that router's probabilities of the
    recorded experts.

    ```mlir
    %gates, %experts = nova.moe_route %logits top 2
        : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
    %g2, %e2 = nova.moe_route %logits top 2 mask(%pad : tensor<16xi1>)
        forced(%experts : tensor<16x2xi32>) renormalize
        : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
    ```
  }];
  let arguments = (ins Nova_F32Tensor:$logits,
                       Optional<Nova_TokenMaskTensor>:$mask,
                       Optional<Nova_I32Tensor>:$forced,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k,
                       UnitAttr:$renormalize);
  let results = (outs Nova_F32Tensor:$gates, Nova_I32Tensor:$indices);
  let assemblyFormat = [{
    $logits `top` $k (`mask` `(` $mask^ `:` type($mask) `)`)?
    (`forced` `(` $forced^ `:` type($forced) `)`)?
    (`renormalize` $renormalize^)? attr-dict
    `:` type($logits) `->` type($gates) `,` type($indices)
  }];
}

def Nova_ExpertQMatmulOp : Nova_PureOp<"expert_qmatmul"> {
  let summary = "per-slot matmul with the selected expert's int8 weight";
  let description = [{
    The dispatch point of a mixture of experts. For `M` tokens with `k`
    selected experts each (`experts : [M, k]` i32, from `nova.moe_route`),
    stacked expert weights `q : [E, K, N]` int8 with scales `s : [E, G, C]`
    (layout `layout`), and input `x : [M, K]` (shared by the k slots of a
    token) or `x : [M, k, K]` (one row per slot):

        y[m, j, n] = round_R(Σ_kk f32(x[m, (j,) kk]) · f32(W[experts[m, j], kk, n]))
        W = nova.dequantize(q, s, layout)

    Only the selected experts are evaluated; backends group the (token,
    slot) rows by expert so each selected expert's weight is read once.
    This equals Grok-1's dense evaluate-all-then-one-hot-select (§3.3 steps
    1-3) except where an unselected expert would produce inf or NaN.

    Expert index -1 means no expert (a padding token masked in
    `nova.moe_route`, or, after expert-parallel partitioning, an expert
    another device holds): that slot's row of `y` is +0 on every backend,
    and it costs nothing: neither its input row nor any weight is read for
    it, so a NaN there does not leak. Any other index outside `[0, E)` is
    a run-time error (the interpreter reports it, naming token and slot;
    compiled code leaves that row zero, as for -1).

    ```mlir
    %hg = nova.expert_qmatmul %x, %experts, %q, %s layout <per_column>
        : tensor<16x6144xbf16>, tensor<16x2xi32>, tensor<8x6144x32768xi8>,
          tensor<8x1x32768xbf16> -> tensor<16x2x32768xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_I32Tensor:$experts,
                       Nova_I8Tensor:$weight, Nova_ScaleTensor:$scales,
                       Nova_ScaleLayoutAttr:$layout);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $experts `,` $weight `,` $scales `layout` $layout attr-dict
    `:` type($input) `,` type($experts) `,` type($weight) `,` type($scales)
    `->` type($result)
  }];
}

def Nova_MoeCombineOp : Nova_PureOp<"moe_combine"> {
  let summary = "gate-weighted sum of the selected experts' outputs";
  let description = [{
    For expert outputs `o : [M, k, D]` and gates `g : [M, k]` (f32), with
    result element type `R`:

        out[m, d] = round_R(Σ_j f32(round_R(g[m, j])) · f32(o[m, j, d]))

    summed over the k slots in slot order in f32. This is Grok-1's combine
    (§3.3 step 6): each gate is rounded to the fprop dtype (bf16), multiplied
    with the f32 expert output in f32, summed in f32, and the sum is cast to
    bf16 once. A slot without an expert (index -1 from `nova.moe_route`)
    has gate 0, and its row from `nova.expert_qmatmul` is +0, so it adds
    +0: a token masked in the router gets exactly 0.

    ```mlir
    %y = nova.moe_combine %o, %gates
        : tensor<16x2x6144xf32>, tensor<16x2xf32> -> tensor<16x6144xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_F32Tensor:$gates);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gates attr-dict `:` type($input) `,` type($gates) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Normalization, activations, softmax, embedding (§0)
//===----------------------------------------------------------------------===//

def Nova_RmsNormOp : Nova_PureOp<"rms_norm"> {
  let summary = "RMSNorm over the last axis, computed in f32";
  let description = [{
    For `x : [..., D]` of element type `T` and `scale : [D]` (f32):

        ms  = mean_d(f32(x)²)
        y   = round_T(scale · (f32(x) · rsqrt(ms + eps)))

    all in f32, the scale used directly (no `1 + scale`), the result cast back
    to the input's type, as Grok-1's `RMSNorm` (§0; eps = 1e-5 there).

    ```mlir
    %y = nova.rms_norm %x, %scale eps 1.000000e-05
        : tensor<1x8x6144xbf16>, tensor<6144xf32> -> tensor<1x8x6144xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_F32Tensor:$scale,
                       ConfinedAttr<F32Attr, [Nova_FloatFiniteNonNegative]>:$eps);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `eps` $eps attr-dict
    `:` type($input) `,` type($scale) `->` type($result)
  }];
}

/// An elementwise activation computed in f32 and rounded to the input type.
class Nova_ActivationOp<string mnemonic, string formula, string section>
    : Nova_PureOp<mnemonic, [SameOperandsAndResultType, Elementwise]> {
  let arguments = (ins Nova_FloatTensor:$input);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 0;
  let description = !strconcat([{
    Elementwise, for `x` of element type `T`, evaluated in f32 and rounded
    once to `T`:

        }], formula, [{

    (}], section, [{)

    ```mlir
    %y = nova.}], mnemonic, [{ %x : tensor<16x2x32768xf32>
    ```
  }]);
}

def Nova_GeluOp : Nova_ActivationOp<"gelu",
    "y = round_T(0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))))",
    "the tanh approximation, `jax.nn.gelu`'s default, used by Grok-1's MoE, §3.3"> {
  let summary = "GELU, tanh approximation";
}

def Nova_SiluOp : Nova_ActivationOp<"silu",
    "y = round_T(x / (1 + exp(-x)))",
    "SiLU / swish, for dense gated MLPs"> {
  let summary = "SiLU (x · sigmoid(x))";
}

def Nova_SoftmaxOp : Nova_PureOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax along one axis, computed in f32";
  let description = [{
    For `x` of element type `T`, along `axis`:

        m = max f32(x);  e = exp(f32(x) - m);  y = round_T(e / Σ e)

    computed in f32 and rounded once. (Sampling has its own softmax inside
    `nova.sample`, in the logits' type as Grok-1 does.)

    ```mlir
    %p = nova.softmax %x axis 1 : tensor<16x8xf32>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = "$input `axis` $axis attr-dict `:` type($result)";
}

def Nova_EmbeddingOp : Nova_PureOp<"embedding"> {
  let summary = "embedding-table lookup";
  let description = [{
    For `table : [V, D]` and token ids `ids : [...]` (i32), with result
    element type `R`:

        y[..., d] = round_R(table[clamp(ids[...], 0, V-1), d])

    Out-of-range ids are clamped, as JAX's gather does for Grok-1's
    `embed_mat[tokens]` (§0: the f32 table cast to bf16).

    ```mlir
    %h = nova.embedding %table[%ids]
        : tensor<131072x6144xf32>, tensor<1x8xi32> -> tensor<1x8x6144xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$table, Nova_I32Tensor:$ids);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Attention (§0)
//===----------------------------------------------------------------------===//

def Nova_RopeOp : Nova_PureOp<"rope"> {
  let summary = "rotary position embedding, rotate-half form";
  let description = [{
    For `x : [B, T, H, Dh]` of element type `T` (Dh even) and absolute
    positions `pos : [B, T]` (i32), with `half = Dh/2` and j = i mod half:

        inv_freq[j] = 1 / base^(2j / Dh)                      (f32)
        φ           = f32(pos[b, t]) · inv_freq[j]           (f32)
        rot(x)[i]   = -x[i + half]  if i < half,  x[i - half] otherwise
        y[b,t,h,i]  = round_T(f32(x[i])·cos φ + f32(rot(x)[i])·sin φ)

    Grok-1's `RotaryEmbedding` (§0: base 10000, non-interleaved
    rotate-half, f32 phases, result cast back to the input type). Grok-1
    computes positions as `arange(T) + offset`; Nova takes them explicitly so
    prefill, decode and padded batches are all expressible.

    ```mlir
    %qr = nova.rope %q, %pos base 1.000000e+04
        : tensor<1x8x48x128xbf16>, tensor<1x8xi32> -> tensor<1x8x48x128xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$input, Nova_I32Tensor:$positions,
                       ConfinedAttr<F32Attr, [Nova_FloatFinitePositive]>:$base);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions `base` $base attr-dict
    `:` type($input) `,` type($positions) `->` type($result)
  }];
}

def Nova_KvCacheUpdateOp : Nova_PureOp<"kv_cache_update"> {
  let summary = "writes new keys or values into a KV cache";
  let description = [{
    For a cache `c : [B, S, H, Dh]`, new entries `x : [B, T, H, Dh]` of the
    same element type and write offsets `pos : [B]` (i32):

        y = c;   y[b, pos[b] + t] = x[b, t]   for 0 ≤ pos[b] + t < S

    Entries that would land outside `[0, S)` are dropped (Nova's choice; XLA's
    `dynamic_update_slice`, which Grok-1 uses, would instead shift the whole
    write back into range). The cache is explicit state: a step takes the
    cache as an operand and returns the new one, so prefill (T > 1) and
    decode (T = 1) are the same op.

    ```mlir
    %kc2 = nova.kv_cache_update %kc, %k, %pos
        : tensor<1x8192x8x128xbf16>, tensor<1x1x8x128xbf16>, tensor<1xi32>
        -> tensor<1x8192x8x128xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$cache, Nova_FloatTensor:$update,
                       Nova_I32Tensor:$positions);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $cache `,` $update `,` $positions attr-dict
    `:` type($cache) `,` type($update) `,` type($positions) `->` type($result)
  }];
}

def Nova_AttentionOp : Nova_PureOp<"attention"> {
  let summary = "grouped-query causal attention over a KV cache";
  let description = [{
    For queries `q : [B, T, Hq, Dh]` of element type `T`, cached keys and
    values `k, v : [B, S, Hkv, Dh]` (already holding this step's entries;
    see `nova.kv_cache_update`), and offsets `pos : [B]` (i32): query `t` of
    row `b` sits at absolute position `p = pos[b] + t`, query head `h` reads
    KV head `h / (Hq / Hkv)` (grouped-query attention; Hq divisible by Hkv),
    and

        ℓ[s]  = f32(round_T(Σ_d q[b,t,h,d] · k[b,s,h',d]))     logits in T, then f32
        ℓ[s]  = ℓ[s] · scale                                  (f32)
        ℓ[s]  = cap · tanh(ℓ[s] / cap)                        (if cap is given)
        ℓ[s]  = -1e30   where s > p                           (causal mask)
        w     = round_T(softmax_s(ℓ))                         (f32 softmax)
        o[b,t,h,d] = round_T(Σ_s f32(w[s]) · f32(v[b,s,h',d]))

    accumulated in at least f32. This is Grok-1's attention (§0: logits ×
    1/√Dh, capped by 30·tanh(x/30), mask fill −1e30, f32 softmax cast back
    to bf16, bf16 einsums). Positions past the cache (`s ≥ S`) do not exist;
    a query whose every key is masked (p < 0) averages all S values equally,
    as the −1e30 fill makes the softmax uniform.

    ```mlir
    %o = nova.attention %q, %kc, %vc, %pos scale 0.0883883461 cap 3.000000e+01
        : tensor<1x1x48x128xbf16>, tensor<1x8192x8x128xbf16>,
          tensor<1x8192x8x128xbf16>, tensor<1xi32> -> tensor<1x1x48x128xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$query, Nova_FloatTensor:$keys,
                       Nova_FloatTensor:$values, Nova_I32Tensor:$positions,
                       F32Attr:$scale,
                       OptionalAttr<ConfinedAttr<F32Attr, [Nova_FloatFinitePositive]>>:$cap);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `,` $positions `scale` $scale (`cap` $cap^)?
    attr-dict `:` type($query) `,` type($keys) `,` type($values) `,`
    type($positions) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Sampling (§4)
//===----------------------------------------------------------------------===//

def Nova_TopPFilterOp : Nova_PureOp<"top_p_filter"> {
  let summary = "nucleus (top-p) filter: logits outside the nucleus to -1e10";
  let description = [{
    Grok-1's `top_p_filter` (runners.py, §4.2 step 3) on logits `x : [B, V]`
    of element type `T` with `top_p : [B]` (f32); the result has x's type.
    Per row b, with `p = round_T(top_p[b])` (0.999 → 1.0 in bf16) and
    `m = max x`:

        e_i  = exp_s(f32(x_i - m))          sampling's exponential (below)
        w_i  = floor(2^40 · e_i)            integer masses; W = Σ_i w_i
        N    = ceil(round_T(1 - p) · W)     exact (128-bit)
        v*   = the smallest value v among the x with Σ_{x_i ≤ v} w_i ≥ N
        y_i  = x_i  if x_i ≥ v*,  else round_T(-1e10)

    `exp_s` is one fixed f32 function (`nova/runtime/SampleMath.h`, within 2
    ulp of exp on [-87, 0], exactly 1 at 0 and 0 below -87): d · log2(e),
    n = rint by adding and subtracting 1.5 · 2^23, r = fma(n, -0.693359375,
    d) then fma(n, 2.12194440e-4, r), the degree-6 polynomial
    p = fma(p, r, c_j) from c = 1.9875691500e-4, 1.3981999507e-3,
    8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
    then fma(p, r · r, r) + 1, times 2^n made from its exponent bits. The
    masses are integers, so their sums are exact in any order: every
    backend (any vector width, thread or shard split) finds the same v*,
    bit for bit, in one vectorized pass. `round_T(-1e10)` is -9999220736 in
    bf16 (Grok-1's fill, finite). This is Grok-1's "sort ascending,
    cumulative sum, first index with c ≥ 1 - p, keep values ≥ that value"
    with the probabilities' sums exact: a value threshold, so every token
    tied with the threshold token is kept. Edge cases, Nova-defined where
    Grok-1 is not (§4.4):
    * `p ≥ 1` (incl. bf16-rounded 0.999, and `p > 1`): nothing filtered.
    * `p ≤ 0`: greedy filter: only the maximum and its ties are kept
      (Grok-1 may keep everything there).
    * For 0 < p < 1, N is at least 1 and at most W, so v* always exists and
      has a positive mass (Grok-1's "no index qualifies" through rounding
      cannot happen).
    * a NaN or +inf anywhere, or no finite x at all (every x is -inf):
      nothing is filtered. A NaN `top_p` filters nothing either.
    * V is at most 2^22 (4194304), so that W fits in 64 bits.

    Step 3 of `nova.sample` is this op on its scaled, masked logits; every
    backend implements the filter once, for both ops.

    ```mlir
    %f = nova.top_p_filter %logits, %top_p
        : tensor<1x131072xbf16>, tensor<1xf32> -> tensor<1x131072xbf16>
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$logits, Nova_F32Tensor:$top_p);
  let results = (outs Nova_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $top_p attr-dict `:` type($logits) `,` type($top_p)
    `->` type($result)
  }];
}

def Nova_SampleOp : Nova_PureOp<"sample", [AttrSizedOperandSegments]> {
  let summary = "temperature, mask, nucleus filter and Gumbel-argmax draw";
  let description = [{
    Grok-1's `sample_token` (§4) on logits `l : [B, V]` of element type `T`
    (bf16 in Grok-1; every step below is computed in `T` as Grok-1 does,
    except the softmax, which is sampling's own exact definition, below).
    Per row b,
    with `temperature, top_p : [B]` (f32) and an optional `mask : [B, V]`
    (i32, non-zero = allowed):

    1. `t = round_T(temperature[b])`; `x_i = round_T(l_i / t)` (IEEE division
       in f32 rounded to T; so 0.7 acts as 0.69921875 in bf16). A tiny `t`
       can overflow `x_i` to ±inf, a huge one scale it towards ±0; a NaN
       `t` makes every `x_i` NaN. `t ≤ 0` (zero, -0, negative, or a
       positive temperature that rounds to 0 in T) is greedy decoding,
       below.
    2. Disallowed tokens: `x_i = round_T(-1e10)` (finite; -9999220736 in
       bf16), applied after the temperature, so with a tiny temperature
       allowed logits below -1e10 rank under masked ones ("mask leak").
    3. Nucleus filter: `x = nova.top_p_filter(x, top_p)`, exactly that op
       (with `p = round_T(top_p[b])`, 0.999 → 1.0 in bf16; a value
       threshold keeping ties; filtered tokens set to `round_T(-1e10)`;
       `p ≤ 0` keeps the maximum and its ties; non-finite rows and a NaN
       `p` filter nothing).
    4. Draw: `z_i = round_T(x_i + g_i)` with Gumbel noise `g`, and the token
       is the **first** (lowest-id) maximum of z. NaN z are ignored unless
       all are NaN (then token 0). The noise is either the `noise` operand
       (`[B, V]`, element type T, used as given) or generated from `seed`
       (i64 scalar), `step` (i32 scalar) and the row's key ρ_b: Philox
       4x32-10 with key = (low, high 32 bits of seed) and counter =
       (⌊i/4⌋, low 32 bits of ρ_b, step, high 32 bits of ρ_b) gives word
       `w = out[i mod 4]`; `u = max(⌊w / 2^(32-m)⌋ · 2^-m, tiny_T)` where m
       is T's explicit mantissa width (7 for bf16, 10 for f16, 23 for f32)
       and tiny_T its smallest normal; `g = round_T(-log(-log(u)))`
       evaluated in f64. In bf16 u takes 128 values (§4.2.4). The row key
       is `ρ_b = row_seeds[b]` (its two's-complement bits) with the
       optional `row_seeds : [B]` (i64; a request id or per-request seed;
       only with `seed` and `step`), and `ρ_b = b` without it, so the
       counter is then (⌊i/4⌋, b, step, 0).
    5. `probs`, the softmax of the filtered logits x̃ with `m = max x̃`:
       `e_i = exp_s(f32(x̃_i - m))` and `W = Σ_i floor(2^40 · e_i)` as in
       `nova.top_p_filter`, then `probs_i = round_T(f64(e_i) · r)` with
       `r = 1 / (2^-40 · f64(W))` in f64: filtered tokens get exactly 0
       (their logits are 87 or more below the maximum) unless every token
       is filtered; `prob = probs[token]`; `top_ids, top_probs` are the
       `top_k` (default 8) most probable tokens, descending, ties to the
       lower id. A -inf x̃ gets exactly 0; a NaN or +inf x̃, or no finite
       x̃, makes every probability NaN (the finite tokens' too), and
       `top_ids` is then `0, 1, …, top_k - 1`.

    Every step reads only row b of the operands (and `seed`, `step`), so
    with `row_seeds` a row's results do not depend on which other rows
    share the batch, nor on its position in it (batch size 1 included).

    Greedy decoding, `t ≤ 0` (as `--temperature 0` in llama.cpp, vLLM and
    Hugging Face): `x_i = l_i` unscaled, masked as in step 2; no nucleus
    filter (`top_p` is ignored) and no noise (`noise`, `seed`, `step` and
    `row_seeds` are ignored); the token is the first (lowest-id) maximum of
    x, NaN ignored unless all are NaN (then token 0). `probs` is step 5's
    softmax of these unscaled, unfiltered x: the model's distribution
    under the mask, of which the token is a most likely entry.

    Results: `token : [B]` i32, `prob : [B]` T, `top_ids : [B, top_k]` i32,
    `top_probs : [B, top_k]` T. `top_k` must not exceed V (Grok-1 fails for
    V < 8). With the unit attribute `stages`, three more results, each
    `[B, V]` of type T, expose the intermediate logits so that each stage
    can be checked: `scaled` (after step 1; the logits themselves in a
    greedy row), `masked` (after step 2) and `filtered` (after step 3, the
    logits the draw and the probabilities use; equal to `masked` in a
    greedy row, which is not filtered).

    ```mlir
    %tok, %p, %ids, %probs = nova.sample %l, %temp, %top_p mask %m
        seed %seed step %step top_k 8
        : (tensor<1x131072xbf16>, tensor<1xf32>, tensor<1xf32>,
           tensor<1x131072xi32>, tensor<i64>, tensor<i32>)
        -> (tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>)
    %t2, %p2, %i2, %q2, %scaled, %masked, %filtered = nova.sample
        %l2, %temp2, %top_p2 seed %seed step %step row_seeds %requests
        top_k 8 stages
        : (tensor<4x1000xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<i64>,
           tensor<i32>, tensor<4xi64>)
        -> (tensor<4xi32>, tensor<4xbf16>, tensor<4x8xi32>, tensor<4x8xbf16>,
            tensor<4x1000xbf16>, tensor<4x1000xbf16>, tensor<4x1000xbf16>)
    ```
  }];
  let arguments = (ins Nova_FloatTensor:$logits, Nova_F32Tensor:$temperature,
                       Nova_F32Tensor:$top_p,
                       Optional<Nova_I32Tensor>:$mask,
                       Optional<Nova_FloatTensor>:$noise,
                       Optional<Nova_I64Tensor>:$seed,
                       Optional<Nova_I32Tensor>:$step,
                       Optional<Nova_I64Tensor>:$row_seeds,
                       ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
                       UnitAttr:$stages);
  let results = (outs Nova_I32Tensor:$token, Nova_FloatTensor:$prob,
                      Nova_I32Tensor:$top_ids, Nova_FloatTensor:$top_probs,
                      Variadic<Nova_FloatTensor>:$stage_logits);
  let assemblyFormat = [{
    $logits `,` $temperature `,` $top_p (`mask` $mask^)? (`noise` $noise^)?
    (`seed` $seed^)? (`step` $step^)? (`row_seeds` $row_seeds^)?
    `top_k` $top_k (`stages` $stages^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// SPMD collectives (created by nova-spmd-partition; docs/distributed.md)
//===----------------------------------------------------------------------===//

/// A collective over the devices of a mesh group. Tensor form: `$input` in,
/// `$result` out (a new value). Buffer form (after bufferization): `$input`
/// read, `$out` written, no result. `$comm` is the MPI communicator of the
/// group (an MPICH `MPI_Comm`, i32) whose rank order is the shard order over
/// `axes` (see `nova.group_comm`).
class Nova_CollectiveOp<string mnemonic, list<Trait> traits = []>
    : Nova_Op<mnemonic, !listconcat(
        [DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
         DeclareOpInterfaceMethods<SymbolUserOpInterface>], traits)> {
  code extraCollectiveDecls = [{
    /// True after bufferization (memref operands, no result).
    bool hasBufferSemantics() { return getOut() != nullptr; }
  }];
}

def Nova_AllReduceOp : Nova_CollectiveOp<"all_reduce"> {
  let summary = "element-wise sum over the devices of a mesh group";
  let description = [{
    Every device of the group holds a partial value of the same shape; each
    gets their sum (`MPI_Allreduce`, `MPI_SUM`). Only f32 and f64 (and
    integer) values are reduced: the partitioner keeps partial sums in f32
    and rounds once after the reduction (TOOLCHAIN.md §7: a bf16
    `MPI_Allreduce` has no MPI datatype). The order of the cross-device
    additions is MPI's; with two devices, or when at most two devices hold a
    non-zero value (expert parallelism with top-2 routing), the sum is
    exact-order independent.

    ```mlir
    %r = nova.all_reduce %partial, %comm over @mesh ["model"]
        : tensor<8x6144xf32> -> tensor<8x6144xf32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[AnyStaticShapeTensor, AnyStaticShapeMemRef]>:$input,
                       Optional<AnyStaticShapeMemRef>:$out,
                       I32:$comm, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes);
  let results = (outs Optional<AnyStaticShapeTensor>:$result);
  let assemblyFormat = [{
    $input `,` $comm `over` $mesh $axes (`into` $out^)? attr-dict
    `:` type($input) (`,` type($out)^)? (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = extraCollectiveDecls;
}

def Nova_AllGatherOp : Nova_CollectiveOp<"all_gather"> {
  let summary = "concatenation of the devices' shards along one dimension";
  let description = [{
    Each device of the group holds the shard of index r (its rank in
    `$comm`) of a value split evenly along dimension `dim`; each gets the
    whole value, shards concatenated in rank order (`MPI_Allgather` of raw
    bytes, then a local re-layout when `dim` is not the outermost
    dimension with extent > 1). The result's extent along `dim` is the
    input's times the group size; every other extent is equal.

    ```mlir
    %full = nova.all_gather %x, %comm over @mesh ["model"] dim 1
        : tensor<1x128xbf16> -> tensor<1x256xbf16>
    ```
  }];
  let arguments = (ins AnyTypeOf<[AnyStaticShapeTensor, AnyStaticShapeMemRef]>:$input,
                       Optional<AnyStaticShapeMemRef>:$out,
                       I32:$comm, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim);
  let results = (outs Optional<AnyStaticShapeTensor>:$result);
  let assemblyFormat = [{
    $input `,` $comm `over` $mesh $axes `dim` $dim (`into` $out^)? attr-dict
    `:` type($input) (`,` type($out)^)? (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = extraCollectiveDecls;
}

// Making and freeing a communicator is communication (a collective over
// `world`), so both write the default resource: never erased, moved or
// merged, and known to buffer deallocation, which rejects unknown effects.
def Nova_GroupCommOp : Nova_Op<"group_comm",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>,
     MemoryEffects<[MemWrite]>]> {
  let summary = "the communicator of one mesh group";
  let description = [{
    From the communicator of the whole mesh (`$world`: rank r is the device
    whose row-major mesh coordinates have linear index r), the communicator
    of the devices that share this device's coordinates on every axis not
    in `axes`, ranked by their shard index over `axes` (row-major in the
    order given), i.e. `MPI_Comm_split(world, color, key)`. When `axes` hold
    every axis of extent > 1, in mesh order, the result is `$world` itself
    and no MPI call is made. Freed by `nova.comm_free`.

    ```mlir
    %c = nova.group_comm %world over @mesh ["model"] : i32
    ```
  }];
  let arguments = (ins I32:$world, FlatSymbolRefAttr:$mesh, StrArrayAttr:$axes);
  let results = (outs I32:$result);
  let assemblyFormat = "$world `over` $mesh $axes attr-dict `:` type($result)";
  let extraClassDeclaration = [{
    /// True when the group is the whole mesh in rank order (no split).
    bool isWholeMesh();
  }];
}

def Nova_CommFreeOp : Nova_Op<"comm_free", [MemoryEffects<[MemWrite]>]> {
  let summary = "releases a communicator made by nova.group_comm";
  let description = [{
    `MPI_Comm_free` of a split communicator; nothing when `$comm` came from
    a `nova.group_comm` that returned its world communicator.

    ```mlir
    nova.comm_free %c : i32
    ```
  }];
  let arguments = (ins I32:$comm);
  let assemblyFormat = "$comm attr-dict `:` type($comm)";
}

def Nova_ShardIndexOp : Nova_Op<"shard_index",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "this device's shard index over some mesh axes";
  let description = [{
    The linear index, row-major over `axes` in the order given, of this
    device's coordinates (device = rank in `$world`, coordinates row-major
    over the whole mesh). A dimension sharded over `axes` holds, on this
    device, the block of that index.

    ```mlir
    %i = nova.shard_index %world over @mesh ["model"] : index
    ```
  }];
  let arguments = (ins I32:$world, FlatSymbolRefAttr:$mesh, StrArrayAttr:$axes);
  let results = (outs Index:$result);
  let assemblyFormat = "$world `over` $mesh $axes attr-dict `:` type($result)";
}

#endif // NOVA_DIALECT_NOVAOPS_TD
