//===- NovaFolds.cpp - Nova folders ---------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaOps.h"

using namespace mlir;
using namespace mlir::nova;

/// shard(shard(x, s), s) -> shard(x, s): re-annotating a value with the spec
/// it already carries changes nothing.
OpFoldResult ShardOp::fold(FoldAdaptor) {
  auto producer = getInput().getDefiningOp<ShardOp>();
  if (producer && producer.getSpec() == getSpec())
    return getInput();
  return {};
}
