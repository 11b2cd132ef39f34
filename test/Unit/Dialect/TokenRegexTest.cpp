//===- TokenRegexTest.cpp - Whole-token regex unit tests ------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/TokenRegex.h"

#include <gtest/gtest.h>

using mlir::nova::TokenRegex;

namespace {

bool matches(const char *pattern, const char *token) {
  std::string error;
  auto re = TokenRegex::compile(pattern, error);
  EXPECT_TRUE(re) << pattern << ": " << error;
  if (!re)
    return false;
  std::optional<bool> result = re->matches(token, error);
  EXPECT_TRUE(result.has_value()) << error;
  return result.value_or(false);
}

std::string compileError(const char *pattern) {
  std::string error;
  EXPECT_FALSE(TokenRegex::compile(pattern, error)) << pattern;
  return error;
}

TEST(TokenRegexTest, WholeTokenMatching) {
  EXPECT_TRUE(matches("decoder_layer_[0-9]+", "decoder_layer_17"));
  EXPECT_FALSE(matches("decoder_layer_[0-9]+", "decoder_layer_17x"));
  EXPECT_FALSE(matches("decoder_layer_[0-9]+", "xdecoder_layer_1"));
  EXPECT_TRUE(matches("(query|key|value)", "key"));
  EXPECT_FALSE(matches("(query|key|value)", "key_proj"));
  EXPECT_TRUE(matches("\\d+", "42"));
  EXPECT_TRUE(matches("(?:a|b)c", "bc"));
  // Case-sensitive.
  EXPECT_FALSE(matches("w", "W"));
}

TEST(TokenRegexTest, NoPythonQuirks) {
  // Python's re.match("query|key" + "$") matches "query_proj" (only the last
  // alternative is anchored); Nova's full-token match does not.
  EXPECT_FALSE(matches("query|key", "query_proj"));
  EXPECT_TRUE(matches("query|key", "query"));
  // Python's "$" also matches before a trailing newline; Nova's does not.
  EXPECT_FALSE(matches("w", "w\n"));
}

TEST(TokenRegexTest, CompileErrors) {
  EXPECT_EQ(compileError("(query|key"), "mismatched parentheses '(' and ')'");
  EXPECT_EQ(compileError("[abc"), "mismatched brackets '[' and ']'");
  EXPECT_EQ(compileError("a{2,1}"), "invalid range in braces '{}'");
  EXPECT_EQ(compileError("\\"), "invalid escape or trailing backslash");
  EXPECT_EQ(compileError("*w"),
            "a repeat ('*', '+', '?' or '{') with nothing to repeat");
  EXPECT_EQ(compileError("a|+b"),
            "a repeat ('*', '+', '?' or '{') with nothing to repeat");
  EXPECT_EQ(compileError("(?a)"), "mismatched parentheses '(' and ')'");
}

TEST(TokenRegexTest, EscapesAndBracketsAreNotRepeats) {
  EXPECT_TRUE(matches("\\*w", "*w"));
  EXPECT_TRUE(matches("[*+]w", "+w"));
  EXPECT_TRUE(matches("(?:x)?y", "y"));
}

} // namespace
