//===- GpuMapLoops.cpp - Parallel loops onto GPU blocks and threads -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Upstream's scf-parallel-loop-tiling tiles the leading dimensions and
// gpu-map-parallel-loops gives the inner loop's last dimension thread z
// (at most 64 threads); Nova's loops are row-major, their last dimension
// the contiguous one. This pass tiles that dimension by the block size and
// maps it onto the threads of a block, so that neighbouring threads touch
// neighbouring elements (coalesced accesses).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nova {
#define GEN_PASS_DEF_GPUMAPLOOPSPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;
using gpu::Processor;

namespace {
/// The grid's y and z extents are at most 65535.
constexpr int64_t kMaxGridYZ = 65535;

struct GpuMapLoopsPass
    : public mlir::nova::impl::GpuMapLoopsPassBase<GpuMapLoopsPass> {
  using GpuMapLoopsPassBase::GpuMapLoopsPassBase;

  LogicalResult map(scf::ParallelOp loop, ArrayRef<Processor> processors) {
    MLIRContext *context = loop.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
    SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
    for (Processor p : processors)
      mapping.push_back(
          gpu::ParallelLoopDimMappingAttr::get(context, p, identity, identity));
    return gpu::setMappingAttr(loop, mapping);
  }

  /// The static trip count of dimension `d`, if known.
  static std::optional<int64_t> tripCount(scf::ParallelOp loop, unsigned d) {
    APInt lb, ub, step;
    if (!matchPattern(loop.getLowerBound()[d], m_ConstantInt(&lb)) ||
        !matchPattern(loop.getUpperBound()[d], m_ConstantInt(&ub)) ||
        !matchPattern(loop.getStep()[d], m_ConstantInt(&step)) ||
        step.getSExtValue() <= 0)
      return std::nullopt;
    int64_t n = ub.getSExtValue() - lb.getSExtValue();
    return n <= 0 ? 0 : (n + step.getSExtValue() - 1) / step.getSExtValue();
  }

  void runOnOperation() override {
    if (blockSize < 1 || blockSize > 1024) {
      getOperation().emitError() << "nova-gpu-map-loops: block-size must be "
                                    "in 1..1024, got "
                                 << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      unsigned rank = loop.getNumLoops();
      std::optional<int64_t> last = tripCount(loop, rank - 1);
      // A last dimension shorter than a block gets a block of its length
      // rounded up to whole warps.
      int64_t threads = blockSize;
      if (last && *last < threads)
        threads = std::max<int64_t>(
            1, std::min<int64_t>(threads, (*last + 31) / 32 * 32));
      // Trip counts of the untiled loop (the tiled one's steps are not
      // folded yet); the other dimensions keep theirs.
      SmallVector<std::optional<int64_t>> trips;
      for (unsigned d = 0; d < rank; ++d)
        trips.push_back(tripCount(loop, d));
      SmallVector<int64_t> sizes(rank, 1);
      sizes.back() = threads;
      auto [outer, inner] =
          scf::tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
      // Grid: x the tiles of the last dimension, y and z the first two
      // others when they fit; the rest run in sequence in each thread.
      SmallVector<Processor> grid(rank, Processor::Sequential);
      grid[rank - 1] = Processor::BlockX;
      Processor next[] = {Processor::BlockY, Processor::BlockZ};
      unsigned used = 0;
      for (unsigned d = 0; d + 1 < rank && used < 2; ++d) {
        if (trips[d] && *trips[d] <= kMaxGridYZ)
          grid[d] = next[used++];
      }
      SmallVector<Processor> block(rank, Processor::Sequential);
      block[rank - 1] = Processor::ThreadX;
      if (failed(map(outer, grid)) || failed(map(inner, block)))
        return signalPassFailure();
      // Deeper parallel loops run in sequence inside a thread.
      inner.getBody()->walk([&](scf::ParallelOp nested) {
        SmallVector<Processor> seq(nested.getNumLoops(), Processor::Sequential);
        (void)map(nested, seq);
      });
    }
  }
};
} // namespace
