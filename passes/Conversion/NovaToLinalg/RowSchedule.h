//===- RowSchedule.h - The row schedule of quantized contractions -*- C++ -*-=//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova.qmatmul and nova.expert_qmatmul share one schedule: the output's
// columns are split into tiles that run on threads (parallelColumnTiles), and
// within a tile each weight row is dequantized once into an f32 row
// (dequantizedRow) that several rows of accumulators add x times
// (accumulateRows), or, for a single row of x, dequantized inside its update
// (fusedRowsUpdate). The sum over the weight's rows keeps its sequential
// order, so every schedule gives the same result.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_NOVATOLINALG_ROWSCHEDULE_H
#define NOVA_PASSES_CONVERSION_NOVATOLINALG_ROWSCHEDULE_H

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include <utility>

namespace mlir::nova {

/// Rows of x per block of the multi-row quantized schedule (each dequantized
/// weight row is reused for all of them).
inline constexpr int64_t kRowBlock = 64;
/// f32 accumulators of one block and column tile (block x width), sized for
/// L2, and the widest tile (wide tiles stream long runs of each weight row).
inline constexpr int64_t kRowReuseAccumulators = 64 * 1024;
inline constexpr int64_t kRowReuseMaxTile = 4096;
/// Weight rows applied per pass over a block's accumulators.
inline constexpr int64_t kRowUnroll = 4;
/// Weight row pairs per panel of the paired-row schedule (PairedRows.cpp):
/// the panel ([kPanelPairs, width] i32, 256 KB at the widest tile of a
/// 64-row block) stays in L2 while every block of accumulators runs over
/// it.
inline constexpr int64_t kPanelPairs = 64;
/// Weight rows dequantized and applied per pass over one row of
/// accumulators (fusedWeightRows).
inline constexpr int64_t kFusedRowUnroll = 8;

/// An int8 weight [lead..., K, N] with its scales [lead..., G, C] and their
/// layout (§1.2): W[lead..., k, n] = round_S(q · s[lead..., k / (K / G),
/// C == 1 ? 0 : n]).
struct QuantizedWeight {
  Value q;
  Value scales;
  /// K / G: the weight rows that share a scale row.
  int64_t rowsPerBlock;
  /// C == N: one scale per column (otherwise one per block).
  bool perColumn;
  /// S, the type each dequantized element is rounded to.
  Type scaleType;
  /// For bf16 scales, whether all of them are splitDequantize's (an i1
  /// computed once per call); null otherwise.
  Value splittable;

  /// The weight `q` with `scales`, their layout read from the shapes (and
  /// for bf16 scales, the check of `splittable`).
  static QuantizedWeight get(KernelBuilder &kb, Value q, Value scales);
};

/// The columns [offset, offset + width) of the weight rows W[lead..., k, :]:
/// what one column tile of a quantized contraction reads.
struct WeightTile {
  QuantizedWeight weight;
  /// The leading indices (an expert's; none for a plain weight).
  SmallVector<Value, 1> lead;
  Value offset;
  int64_t width;
  /// x · w is exact in f32 (exactProductInF32), so the schedule uses fused
  /// multiply-adds.
  bool exactProduct;
};

/// The operands of tile row `k`: the int8 row and the scale row (per-column
/// scales) or the one scale of the row's block.
struct QuantizedRow {
  SmallVector<Value> inputs;
  Value scalar;
  bool perColumn;
  Type scaleType;
  /// The dequantized element given the map/generic block arguments, by
  /// splitDequantize when `split`.
  Value dequantize(KernelBuilder &g, ValueRange a, bool split) const;
};

/// The 1-D slice t[offsets..., offset + 0 .. size) of the innermost
/// dimension of `t` (all other dimensions dropped).
Value rowOf(OpBuilder &b, Location loc, Value t, ArrayRef<OpFoldResult> offsets,
            int64_t size);

/// acc[r, :] = update(acc[r, :]) for the [width] row r of `acc`.
Value updateAccumulatorRow(OpBuilder &b, Location loc, Value acc, Value r,
                           int64_t width, function_ref<Value(Value)> update);

/// The operands of row `k` of `tile`.
QuantizedRow quantizedRow(OpBuilder &b, Location loc, const WeightTile &tile,
                          Value k);

/// Row `k` of `tile` dequantized to f32 into `init` ([width]), by
/// splitDequantize when the weight is `splittable`. A linalg.map,
/// which elementwise fusion leaves alone: fused into its consumers it would
/// be recomputed for every row of x that uses it.
Value dequantizedRow(OpBuilder &b, Location loc, const WeightTile &tile,
                     Value k, Value init);

/// acc[r, :] += Σ_j xvs[j] · (row ks[j] of `tile`), the rows added in
/// order and dequantized inside the same loop: one pass over the
/// accumulators and no scratch, for a row of x used once (decode, an expert
/// with a single slot). The same arithmetic as dequantizedRow followed by
/// accumulateRows. Rows of one group lie in one scale block when the block
/// height is a multiple of the group size (forWeightRowGroups' groups).
/// With `split`, the rows are dequantized by splitDequantize.
Value fusedRowsUpdate(KernelBuilder &kb, const WeightTile &tile,
                      ArrayRef<Value> ks, Value acc, Value r,
                      ArrayRef<Value> xvs, bool split);

/// body(ks, acc) for the weight rows 0 .. depth in order: `group` rows at
/// a time starting at multiples of `group`, then the rest one at a time.
using RowGroupBody =
    function_ref<Value(KernelBuilder &, ArrayRef<Value> ks, Value acc)>;
Value forWeightRowGroups(KernelBuilder &kb, int64_t depth, int64_t group,
                         Value acc, RowGroupBody body);

/// The x value (f32) that multiplies weight row `k`.
using XOfRow = function_ref<Value(KernelBuilder &, Value k)>;

/// acc[r, :] += Σ_k xOf(k) · W[lead..., k, tile columns] over all K rows in
/// order, fusedRowsUpdate on groups of kFusedRowUnroll rows (split
/// dequantization when the weight is `splittable`; otherwise, for bf16
/// scales, one exact row at a time).
Value fusedWeightRows(KernelBuilder &kb, const WeightTile &tile, Value acc,
                      Value r, XOfRow xOf);

/// (r(p), [x_j(p)]): the accumulator row of position `p` and its x values
/// (as f32), one per weight row.
using RowAndX =
    function_ref<std::pair<Value, SmallVector<Value>>(KernelBuilder &, Value)>;

/// acc[r(p), :] += Σ_j x_j(p) · vecs[j] for p in [lo, hi), the terms added
/// in order j = 0, 1, ... (as a sequential sum over the rows of a weight
/// would), with (r(p), [x_j(p)]) = `rowAndX(p)`. Several vectors per pass
/// load and store each accumulator once for all of them. Fused multiply-adds
/// when the products are exact in f32 (`exactProduct`), so the result is the
/// same either way.
Value accumulateRows(KernelBuilder &kb, Value acc, ArrayRef<Value> vecs,
                     Value lo, Value hi, bool exactProduct, RowAndX rowAndX);

/// x values of position `p` for the weight rows `ks`: (r(p), [x(p, k)]).
using RowInputs = function_ref<std::pair<Value, SmallVector<Value>>(
    KernelBuilder &, Value p, ArrayRef<Value> ks)>;

/// kRowUnroll f32 rows of `width` for accumulateWeightRows to dequantize
/// into.
SmallVector<Value> rowScratch(KernelBuilder &kb, int64_t width);

/// acc[r(p), :] += Σ_k x(p, k) · W[lead..., k, tile columns] for p in
/// [lo, hi), k in order over all K rows of the weight: kRowUnroll rows at a
/// time dequantized into `scratch` and applied in one pass over the
/// accumulators, the rest of K one row at a time.
Value accumulateWeightRows(KernelBuilder &kb, const WeightTile &tile,
                           ArrayRef<Value> scratch, Value acc, Value lo,
                           Value hi, RowInputs inputs);

/// Whether the paired-row schedule applies to a column tile of `width` of
/// an x of `xElement` times `weight`: bf16 x, bf16 scales, 16 | width,
/// at least one pair of weight rows.
bool pairedRowsApply(Type xElement, const QuantizedWeight &weight,
                     int64_t width);
/// The i1 under which the paired-row schedule gives the f32 schedule's
/// bits for x ([..., K] bf16) · `weight` on this CPU tier: the tier has a bf16
/// dot product (kCpuHasBf16Dot), the scales are splittable, and no product
/// or partial sum can be subnormal (x's and the scales' smallest exponents,
/// one pass over each).
Value bf16DotExact(KernelBuilder &kb, Value x, const QuantizedWeight &weight);
/// x ([..., K] bf16) as bf16 pairs ([M, K / 2] i32, the leading
/// dimensions collapsed): x[p, 2j] << 16 | x[p, 2j + 1], the other operand
/// of the paired-row schedule's dot products (computed once per call).
Value pairedX(OpBuilder &b, Location loc, Value x);
/// (accumulator row, row of pairedX) of position `p` of the paired-row
/// schedule.
using PairedRowOf =
    function_ref<std::pair<Value, Value>(KernelBuilder &, Value p)>;
/// (accumulator row, x as f32) of position `p` at weight row `k`.
using RowXOf =
    function_ref<std::pair<Value, Value>(KernelBuilder &, Value p, Value k)>;
/// acc[r(p), :] += Σ_k x(p, k) · W[lead..., k, tile columns] for the
/// positions p in [lo, hi), k in order, with (r(p), pairs row) = rowOf(p)
/// and `xPairs` x's pairedX: panels of kPanelPairs weight row pairs are
/// dequantized into `panel` ([kPanelPairs, width] i32, W[k] << 16 |
/// W[k + 1]) and applied by bf16 dot products (kCpuDotBf16Pairs) to blocks
/// of accumulators held in registers over the panel; an odd K's last row
/// goes through the f32 row `scratch` with x from xOf. Under bf16DotExact,
/// the same bits as accumulateWeightRows.
Value accumulatePairedRows(KernelBuilder &kb, const WeightTile &tile,
                           Value panel, Value scratch, Value acc, Value xPairs,
                           Value lo, Value hi, PairedRowOf rowOf, RowXOf xOf);
/// Is the product of an `a` and a `b` value exact in f32? True for two
/// 16-bit floats (at most 11 + 11 significant bits), so that a fused
/// multiply-add rounds exactly like the separate multiply and add.
bool exactProductInF32(Type a, Type b);

/// The largest divisor of `n` that is at most `limit` and a multiple of
/// `align` (0 if there is none).
int64_t divisorAtMost(int64_t n, int64_t limit, int64_t align);

/// The width of the column tiles a [M, K] x [K, N] contraction is split into
/// across threads (options.parallelTiles of them, at most), or 0 to run it
/// whole (less than options.parallelWork multiply-adds): a multiple of 16
/// columns (one 64-byte line of int8 weights per 4 rows) that divides N, so
/// every tile has the same static shape.
int64_t columnTileWidth(int64_t m, int64_t n, int64_t k,
                        const ScheduleOptions &options);

/// The column tile width of the multi-row schedule for blocks of `block`
/// rows of x: the block's accumulators stay in L2 (0 if no multiple of 16
/// divides N).
int64_t rowReuseTileWidth(int64_t n, int64_t block);

/// x [..., K] · W [K, N] as the row schedule runs it: x as a matrix
/// [M, K], blocks of up to kRowBlock rows of x and column tiles of `width`
/// (the whole N when the work is below options.parallelWork).
struct RowBlockedMatmul {
  int64_t m, k, n;
  /// The reassociation folding x's leading dimensions into M.
  SmallVector<ReassociationIndices> rows;
  Value x2;
  int64_t block, width;

  static RowBlockedMatmul get(OpBuilder &b, Location loc, Value x,
                              RankedTensorType resultType,
                              const ScheduleOptions &options);
  /// The [M, N] `result` in `resultType`'s shape.
  Value expand(OpBuilder &b, Location loc, Value result,
               RankedTensorType resultType) const;
};

/// y = x · W for nova.qmatmul with `int8_activations` (the op's fast
/// numerics): x quantized per row to int8, the products summed exactly per
/// chunk of weight rows, on this file's column tiles and row
/// blocks (Int8ActivationLowering.cpp).
Value int8ActivationMatmul(OpBuilder &b, Location loc, Value x,
                           const QuantizedWeight &weight,
                           RankedTensorType resultType,
                           const ScheduleOptions &options);

/// Computes `init` ([..., N]) in N / width column tiles of `width` columns,
/// in parallel (an scf.forall, which becomes an OpenMP work-sharing loop):
/// `tile(b, offset, slice)` returns the value of the tile at column `offset`
/// given its slice of `init` to write into.
Value parallelColumnTiles(OpBuilder &b, Location loc, Value init, int64_t width,
                          function_ref<Value(OpBuilder &, Value, Value)> tile);

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_NOVATOLINALG_ROWSCHEDULE_H
