//===- NovaAttrs.td - Nova attributes and enums ------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVAATTRS_TD
#define NOVA_DIALECT_NOVAATTRS_TD

include "dialect/NovaDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class Nova_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Nova_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Attribute constraints
//===----------------------------------------------------------------------===//

def Nova_FloatFiniteNonNegative : AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValue().isFinite() && "
          "!::llvm::cast<::mlir::FloatAttr>($_self).getValue().isNegative()">,
    "whose value is finite and non-negative">;
def Nova_FloatFinitePositive : AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValue().isFinite() && "
          "::llvm::cast<::mlir::FloatAttr>($_self).getValue().isNonZero() && "
          "!::llvm::cast<::mlir::FloatAttr>($_self).getValue().isNegative()">,
    "whose value is finite and positive">;

//===----------------------------------------------------------------------===//
// Scale layouts (§1.2)
//===----------------------------------------------------------------------===//

def Nova_ScaleLayoutKind : I32EnumAttr<"ScaleLayoutKind",
    "how int8 weight scales map onto the weight", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerColumn", 1, "per_column">,
      I32EnumAttrCase<"RowBlocks", 2, "row_blocks">,
      I32EnumAttrCase<"Group", 3, "group">,
      I32EnumAttrCase<"RowBlockScalars", 4, "row_block_scalars">
    ]> {
  let cppNamespace = "::mlir::nova";
  let genSpecializedAttr = 0;
}

def Nova_ScaleLayoutAttr : Nova_Attr<"ScaleLayout", "scale_layout"> {
  let summary = "layout of the scales of an int8 weight";
  let description = [{
    A quantized weight `q` of shape `[B..., K, N]` (optional leading batch
    dimensions such as the expert axis, then K input rows and N output
    columns, stored `[in, out]` as Grok-1 does) comes with a scale tensor `s`
    of shape `[B..., G, C]`. The dequantized value is

        W[b..., r, n] = q[b..., r, n] · s[b..., ⌊r / (K/G)⌋, C = 1 ? 0 : n]

    where the layout fixes G and C (C is 1 or N):

    | layout             | scales shape     | meaning                                |
    |--------------------|------------------|----------------------------------------|
    | `per_tensor`       | `[B..., 1, 1]`   | one scale per (batch entry of the) weight |
    | `per_column`       | `[B..., 1, N]`   | one scale per output column (Grok-1 q/k/v, MoE `linear`, `linear_v`) |
    | `row_blocks = G`   | `[B..., G, N]`   | Grok-1's "G row-blocks × per-column" (attention `linear`, MoE `linear_1`, G = 8) |
    | `group = g`        | `[B..., K/g, N]` | group-wise along K with g rows per group |
    | `row_block_scalars = G` | `[B..., G, 1]` | one scalar per row block (G blocks of K/G rows, the same scale for every column) |

    `row_blocks = G` and `group = K/G` denote the same arithmetic; they differ
    in which quantity the user fixes (the number of blocks, independent of K,
    or the block size, independent of K), and the verifier checks the one that
    was given. K must be divisible by G (resp. g). Unlike Grok-1, where the
    block structure is implied by the 8-way `model` mesh axis (§1.2), the
    layout is explicit and independent of any sharding.

    Example: `#nova.scale_layout<row_blocks = 8>`.
  }];
  let parameters = (ins "ScaleLayoutKind":$kind, "int64_t":$size);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of row blocks G for a weight with `k` input rows (k must be
    /// divisible by the block structure; see `verifyWeight`).
    int64_t getNumRowBlocks(int64_t k) const;
    /// Number of scale columns C for a weight with `n` output columns.
    int64_t getNumScaleColumns(int64_t n) const;
    /// Checks that `scalesShape` is the scales shape this layout requires for
    /// a weight of shape `weightShape`; on mismatch returns false and sets
    /// `error` to an "expected X, got Y" message.
    bool verifyShapes(::llvm::ArrayRef<int64_t> weightShape,
                      ::llvm::ArrayRef<int64_t> scalesShape,
                      std::string &error) const;
  }];
}

//===----------------------------------------------------------------------===//
// Sharding (§2)
//===----------------------------------------------------------------------===//

def Nova_ShardingAttr : Nova_Attr<"Sharding", "sharding"> {
  let summary = "a Grok-1 PartitionSpec over a named mesh";
  let description = [{
    A partition spec as JAX writes it, `P(None, ('data', 'model'))`, bound to
    a `nova.mesh` symbol. Entry `i` describes tensor dimension `i`; missing
    trailing dimensions are replicated (§2.3). Each entry is one of

    * `None`: the dimension is replicated;
    * `"axis"`: the dimension is split over one mesh axis;
    * `("a", "b", ...)`: the dimension is split over the product of the axes,
      the first axis outermost (major), as in JAX.

    An axis may appear at most once in a spec. A dimension of size 1 may carry
    any axes: it is broadcast, so every device holds the whole dimension (this
    is how per-column scales `[1, N]` follow a row-split weight). Every other
    sharded dimension must be divisible by the product of its axis sizes
    (checked where the spec meets a tensor: `nova.param`, `nova.shard`).

    Example: `#nova.sharding<@mesh, [None, ("data", "model")]>`.

    Nova needs this attribute rather than upstream `shard.sharding` because
    partition rules name axes (upstream `split_axes` holds indices into an
    unnamed grid) and because a spec is data attached to parameters before any
    SPMD partitioning. The CPU lowering drops shardings today (it compiles
    one device's program); an SPMD lowering onto `shard.grid` +
    `shard.sharding` split axes is not built yet.
  }];
  let parameters = (ins "::mlir::FlatSymbolRefAttr":$mesh,
                        "::mlir::ArrayAttr":$dims);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The axes of dimension `dim` (empty when replicated or past the spec).
    ::llvm::SmallVector<::llvm::StringRef> getAxes(unsigned dim) const;
    /// Renders the spec as Python's PartitionSpec repr: `P(None, ('data', 'model'))`.
    std::string toPartitionSpecString() const;
    /// Renders entry `dim` as in that repr: `None`, `'model'` or
    /// `('data', 'model')`.
    std::string getDimString(unsigned dim) const;
  }];
}

#endif // NOVA_DIALECT_NOVAATTRS_TD
