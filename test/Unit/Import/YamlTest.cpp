//===- YamlTest.cpp - The located YAML tree -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Import/Yaml.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(YamlTest, AliasCyclesAreErrorsAtTheAnchor) {
  for (const char *text :
       {"a: &x [*x]\n", "a: &x {k: *x}\n", "a: &x {b: &y [*x, {c: *y}]}\n",
        "a: &x\n  - - *x\n"}) {
    Node root;
    ParseError error;
    EXPECT_FALSE(parse(text, Limits(), root, error)) << text;
    EXPECT_EQ(error.message, "an alias refers to the anchor of a node that "
                             "contains it (an alias cycle)")
        << text;
    EXPECT_EQ(error.line, 1u) << text;
  }
}

TEST(YamlTest, DepthCountsTheLevelsAliasesAdd) {
  // 10 levels of text; each alias adds the 10 levels of its anchor.
  std::string text = "a: &a [[[[[[[[[[1]]]]]]]]]]\n"
                     "b: &b [*a, *a]\n"
                     "c: [*b]\n";
  Limits limits;
  limits.maxDepth = 12;
  Node root;
  ParseError error;
  EXPECT_FALSE(parse(text, limits, root, error));
  EXPECT_EQ(error.message, "the document nests deeper than 12 levels "
                           "(counting the levels aliases add)");
  limits.maxDepth = 13;
  EXPECT_TRUE(parse(text, limits, root, error)) << error.message;
}

TEST(YamlTest, ExpansionIsBoundedByTheTextSize) {
  // Without aliases a document always fits its budget.
  std::string plain = "[";
  for (int i = 0; i < 20000; ++i)
    plain += "1,";
  plain += "1]";
  Limits limits;
  limits.maxExpansion = 1;
  Node root;
  ParseError error;
  EXPECT_TRUE(parse(plain, limits, root, error)) << error.message;
  // 1,000 aliases of a 1,000-byte scalar: 1 MB from 6 KB of text.
  std::string text = "a: &s " + std::string(1000, 'x') + "\nb: [";
  for (int i = 0; i < 1000; ++i)
    text += "*s, ";
  text += "*s]\n";
  EXPECT_FALSE(parse(text, Limits(), root, error));
  EXPECT_EQ(
      error.message.rfind("the document's scalars expand to more than ", 0), 0u)
      << error.message;
  EXPECT_EQ(error.line, 1u);
}

TEST(YamlTest, EchoedScalarsAreEscaped) {
  Node root;
  ParseError error;
  EXPECT_FALSE(
      parse("\"a\\e[1m\\n\": 1\n\"a\\e[1m\\n\": 2\n", Limits(), root, error));
  EXPECT_EQ(error.message, "duplicate key 'a\\x1b[1m\\n' (first at line 1)");
  Node scalar;
  scalar.kind = Node::Kind::Scalar;
  scalar.scalar = std::string("x\0y", 3);
  EXPECT_EQ(scalar.describe(), "a scalar 'x\\x00y'");
}

TEST(YamlTest, SyntaxErrorsAreLocated) {
  Node root;
  ParseError error;
  EXPECT_FALSE(parse("a: [1, 2\nb: 3\n", Limits(), root, error));
  EXPECT_NE(error.message.find("YAML syntax error"), std::string::npos);
  EXPECT_GT(error.line, 0u);
}

} // namespace
