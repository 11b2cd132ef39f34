//===- YamlTest.cpp - The located YAML tree -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Import/Yaml.h"

#include <gtest/gtest.h>

using namespace mlir::nova::yaml;

namespace {

TEST(YamlTest, PositionsAndQuoting) {
  Node root;
  ParseError error;
  ASSERT_TRUE(
      parse("a: 1\nb: 'null'\nc:\n  - x\n  - ~\n", Limits(), root, error))
      << error.message;
  ASSERT_TRUE(root.isMap());
  ASSERT_EQ(root.entries.size(), 3u);
  EXPECT_EQ(root.entries[0].first.scalar, "a");
  EXPECT_EQ(root.entries[0].second.scalar, "1");
  EXPECT_FALSE(root.entries[0].second.quoted);
  EXPECT_EQ(root.entries[1].second.scalar, "null");
  EXPECT_TRUE(root.entries[1].second.quoted);
  const Node &c = root.entries[2].second;
  ASSERT_TRUE(c.isSequence());
  EXPECT_EQ(c.items[0].line, 4u);
  EXPECT_EQ(c.items[0].column, 5u);
  EXPECT_TRUE(c.items[1].isNull());
}

TEST(YamlTest, EmptyDocumentIsNull) {
  Node root;
  ParseError error;
  ASSERT_TRUE(parse("", Limits(), root, error));
  EXPECT_TRUE(root.isNull());
}

TEST(YamlTest, RejectsDuplicateAndComplexKeys) {
  Node root;
  ParseError error;
  EXPECT_FALSE(parse("a: 1\na: 2\n", Limits(), root, error));
  EXPECT_EQ(error.message, "duplicate key 'a' (first at line 1)");
  EXPECT_EQ(error.line, 2u);
  EXPECT_FALSE(parse("? [a, b]\n: 1\n", Limits(), root, error));
  EXPECT_EQ(error.message, "expected a scalar map key, got a sequence");
}

TEST(YamlTest, NodeBudgetStopsAliasExpansion) {
  Limits limits;
  limits.maxNodes = 50;
  Node root;
  ParseError error;
  EXPECT_FALSE(parse("a: &a [1, 2, 3, 4, 5, 6, 7, 8]\n"
                     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n",
                     limits, root, error));
  EXPECT_EQ(error.message,
            "the document expands to more than 50 nodes (nested aliases?)");
}

TEST(YamlTest, SyntaxErrorsAreLocated) {
  Node root;
  ParseError error;
  EXPECT_FALSE(parse("a: [1, 2\nb: 3\n", Limits(), root, error));
  EXPECT_NE(error.message.find("YAML syntax error"), std::string::npos);
  EXPECT_GT(error.line, 0u);
}

} // namespace
