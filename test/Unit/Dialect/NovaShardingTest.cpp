//===- NovaShardingTest.cpp - Dialect shardings and source locations ------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The adapter from nova.mesh / #nova.sharding to the runtime's shard
// arithmetic, the verifier diagnostics that the textual tests cannot reach
// (an overflowing shard count), and formatFileLocation.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaSharding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

namespace {

class NovaShardingTest : public ::testing::Test {
protected:
  NovaShardingTest() {
    context.loadDialect<NovaDialect, func::FuncDialect>();
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      diagnostics.push_back(diag.str());
      return success();
    });
  }

  OwningOpRef<ModuleOp> parse(StringRef text) {
    return parseSourceString<ModuleOp>(text, &context);
  }

  MLIRContext context;
  std::vector<std::string> diagnostics;
};

TEST_F(NovaShardingTest, AdaptsMeshesAndSpecs) {
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    nova.mesh @mesh ["data" = 2, "model" = 4, "expert" = 2]
    func.func @f(%x: tensor<8x6x4xf32>) -> tensor<8x6x4xf32> {
      %y = nova.shard %x to <@mesh, [("data", "model"), None, "expert"]> : tensor<8x6x4xf32>
      return %y : tensor<8x6x4xf32>
    }
  )mlir");
  ASSERT_TRUE(module) << (diagnostics.empty() ? "" : diagnostics[0]);
  MeshOp mesh = *module->getOps<MeshOp>().begin();
  std::vector<rt::MeshAxis> axes = toRuntimeMesh(mesh);
  ASSERT_EQ(axes.size(), 3u);
  EXPECT_EQ(axes[0].name, "data");
  EXPECT_EQ(axes[0].size, 2);
  EXPECT_EQ(axes[1].name, "model");
  EXPECT_EQ(axes[1].size, 4);
  EXPECT_EQ(axes[2].name, "expert");

  ShardOp shard;
  module->walk([&](ShardOp op) { shard = op; });
  ASSERT_TRUE(shard);
  rt::PartitionSpec spec = toRuntimeSpec(shard.getSpec());
  EXPECT_EQ(spec, (rt::PartitionSpec{{"data", "model"}, {}, {"expert"}}));
  // The dialect's spec means what the runtime computes from it.
  EXPECT_EQ(rt::localShape({8, 6, 4}, spec, axes),
            (std::vector<int64_t>{1, 6, 2}));
}

TEST_F(NovaShardingTest, VerifierRejectsAnOverflowingShardCount) {
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    nova.mesh @mesh ["a" = 4294967296, "b" = 4294967296]
    func.func @f(%x: tensor<4096xf32>) -> tensor<4096xf32> {
      %y = nova.shard %x to <@mesh, [("a", "b")]> : tensor<4096xf32>
      return %y : tensor<4096xf32>
    }
  )mlir");
  EXPECT_FALSE(module);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0],
            "'nova.shard' op expected the mesh axes ('a', 'b') of dimension 0 "
            "to hold at most 2^63 - 1 devices, got more");
}

TEST_F(NovaShardingTest, FormatFileLocationFindsTheFirstFilePosition) {
  Location file = FileLineColLoc::get(&context, "model.yaml", 6, 5);
  Location other = FileLineColLoc::get(&context, "rules.yaml", 45, 3);
  Location unknown = UnknownLoc::get(&context);
  EXPECT_EQ(formatFileLocation(file), "model.yaml:6:5");
  EXPECT_EQ(formatFileLocation(file, /*column=*/false), "model.yaml:6");
  EXPECT_EQ(formatFileLocation(unknown), "");
  EXPECT_EQ(formatFileLocation(FusedLoc::get(&context, {unknown, other, file})),
            "rules.yaml:45:3");
  EXPECT_EQ(
      formatFileLocation(NameLoc::get(StringAttr::get(&context, "w"), file)),
      "model.yaml:6:5");
  EXPECT_EQ(formatFileLocation(CallSiteLoc::get(other, file)),
            "rules.yaml:45:3");
  EXPECT_EQ(formatFileLocation(NameLoc::get(StringAttr::get(&context, "w"))),
            "");
}

} // namespace
