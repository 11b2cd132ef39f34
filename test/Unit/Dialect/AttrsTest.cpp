//===- AttrsTest.cpp - Nova attribute unit tests --------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// What lit cannot reach: attribute invariants that the textual parser can
// never produce (only C++ builders can), and the helpers passes rely on.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::nova;

namespace {

class AttrsTest : public ::testing::Test {
protected:
  AttrsTest() {
    context.loadDialect<NovaDialect>();
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      diagnostics.push_back(diag.str());
      return success();
    });
  }

  ScaleLayoutAttr layout(ScaleLayoutKind kind, int64_t size) {
    return ScaleLayoutAttr::getChecked(UnknownLoc::get(&context), &context,
                                       kind, size);
  }

  MLIRContext context;
  std::vector<std::string> diagnostics;
};

TEST_F(AttrsTest, ScaleLayoutRejectsSizeForSizelessKinds) {
  EXPECT_FALSE(layout(ScaleLayoutKind::PerColumn, 4));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0], "expected no size for per_column, got 4");
  EXPECT_FALSE(layout(ScaleLayoutKind::PerTensor, -1));
  EXPECT_TRUE(layout(ScaleLayoutKind::PerTensor, 0));
}

TEST_F(AttrsTest, ScaleLayoutGeometry) {
  ScaleLayoutAttr rows = layout(ScaleLayoutKind::RowBlocks, 8);
  ScaleLayoutAttr group = layout(ScaleLayoutKind::Group, 128);
  ScaleLayoutAttr column = layout(ScaleLayoutKind::PerColumn, 0);
  ScaleLayoutAttr tensor = layout(ScaleLayoutKind::PerTensor, 0);
  EXPECT_EQ(rows.getNumRowBlocks(6144), 8);
  EXPECT_EQ(group.getNumRowBlocks(6144), 48);
  EXPECT_EQ(column.getNumRowBlocks(6144), 1);
  EXPECT_EQ(column.getNumScaleColumns(1024), 1024);
  EXPECT_EQ(tensor.getNumScaleColumns(1024), 1);

  std::string error;
  // Grok-1's MoE down projection: [8, 32768, 6144] with [8, 8, 6144] scales.
  EXPECT_TRUE(rows.verifyShapes({8, 32768, 6144}, {8, 8, 6144}, error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(rows.verifyShapes({8, 32768, 6144}, {8, 1, 6144}, error));
  EXPECT_EQ(error, "expected scales of shape [8, 8, 6144] for a weight of "
                   "shape [8, 32768, 6144] with "
                   "#nova.scale_layout<row_blocks = 8>, got [8, 1, 6144]");
}

TEST_F(AttrsTest, ShardingRejectsNonStringAxes) {
  Builder b(&context);
  auto mesh = FlatSymbolRefAttr::get(&context, "mesh");
  ArrayAttr dims = b.getArrayAttr({b.getI64IntegerAttr(3)});
  EXPECT_FALSE(ShardingAttr::getChecked(UnknownLoc::get(&context), &context,
                                        mesh, dims));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0], "expected a mesh axis name, got 3 : i64");
  EXPECT_FALSE(ShardingAttr::getChecked(UnknownLoc::get(&context), &context,
                                        FlatSymbolRefAttr(),
                                        b.getArrayAttr({})));
  EXPECT_EQ(diagnostics.back(), "expected a mesh symbol");
}

TEST_F(AttrsTest, PartitionSpecRepr) {
  Builder b(&context);
  auto mesh = FlatSymbolRefAttr::get(&context, "mesh");
  auto spec = ShardingAttr::get(
      &context, mesh,
      b.getArrayAttr(
          {b.getArrayAttr({}), b.getStringAttr("model"),
           b.getArrayAttr({b.getStringAttr("data"), b.getStringAttr("model")}),
           b.getArrayAttr({b.getStringAttr("data")})}));
  EXPECT_EQ(spec.toPartitionSpecString(),
            "P(None, 'model', ('data', 'model'), ('data',))");
  EXPECT_EQ(spec.getAxes(0).size(), 0u);
  EXPECT_EQ(spec.getAxes(1), SmallVector<StringRef>({"model"}));
  EXPECT_EQ(spec.getAxes(2), SmallVector<StringRef>({"data", "model"}));
  // Dimensions past the spec are replicated (§2.3).
  EXPECT_TRUE(spec.getAxes(7).empty());
  auto empty = ShardingAttr::get(&context, mesh, b.getArrayAttr({}));
  EXPECT_EQ(empty.toPartitionSpecString(), "P()");
}

TEST(PathTest, SplitKeepsEmptyPieces) {
  EXPECT_EQ(splitPath("transformer/decoder_layer_3/moe/linear/w"),
            SmallVector<StringRef>(
                {"transformer", "decoder_layer_3", "moe", "linear", "w"}));
  // Grok-1 keeps empty pieces of "a//b" (§2.1).
  EXPECT_EQ(splitPath("a//b"), SmallVector<StringRef>({"a", "", "b"}));
}

} // namespace
