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
  EXPECT_EQ(compileError("query|key)"), "mismatched parentheses '(' and ')'");
  EXPECT_EQ(compileError("[abc"), "mismatched brackets '[' and ']'");
  EXPECT_EQ(compileError("a{2,1}"),
            "invalid repeat count '{2,1}' (each count at most 1000, the "
            "minimum not above the maximum, and nested counts multiplying to "
            "at most 1000)");
  EXPECT_EQ(compileError("\\"), "invalid escape or trailing backslash");
  EXPECT_EQ(compileError("*w"),
            "a repeat ('*', '+', '?' or '{') with nothing to repeat");
  EXPECT_EQ(compileError("a|+b"),
            "a repeat ('*', '+', '?' or '{') with nothing to repeat");
  EXPECT_EQ(compileError("a**"), "invalid repeat '**' (a repeat of a repeat)");
  EXPECT_EQ(compileError("(?a)"),
            "invalid group flags '(?a' (RE2 syntax allows (?:...), "
            "(?P<name>...) and the flags i, m, s, U)");
  EXPECT_EQ(compileError("[z-a]"), "invalid character class or range 'z-a'");
}

// ECMAScript (std::regex, JavaScript) constructs RE2 lacks are errors that
// say so, never a silent change of meaning.
TEST(TokenRegexTest, EcmaScriptOnlySyntaxIsAnError) {
  EXPECT_EQ(compileError("(a)\\1"),
            "back reference '\\\\1' is not supported: partition-rule regexes "
            "use RE2 syntax, which has no back references");
  EXPECT_EQ(compileError("(?=w)w"),
            "lookahead '(?=' is not supported: partition-rule regexes use RE2 "
            "syntax, which has no lookaround");
  EXPECT_EQ(compileError("(?!x)w"),
            "lookahead '(?!' is not supported: partition-rule regexes use RE2 "
            "syntax, which has no lookaround");
  EXPECT_EQ(compileError("\\(?<x(?<=a)b"),
            "lookbehind '(?<=' is not supported: partition-rule regexes use "
            "RE2 syntax, which has no lookaround");
  EXPECT_EQ(compileError("(?<n>a)"),
            "named group '(?<name>...)' is not supported in this RE2 version: "
            "write '(?P<name>...)'");
  EXPECT_EQ(compileError("\\u0041"),
            "escape '\\uHHHH' is not supported in RE2 syntax (write "
            "\\x{HHHH})");
  EXPECT_TRUE(matches("(?P<n>a)b", "ab"));
  EXPECT_TRUE(matches("\\x41", "A"));
}

// Backtracking engines take exponential time here (std::regex ran for
// minutes on 40 characters); RE2 is linear in the token.
TEST(TokenRegexTest, CatastrophicPatternsFinish) {
  std::string as(40, 'a');
  EXPECT_FALSE(matches("(a+)+$", (as + "!").c_str()));
  EXPECT_FALSE(matches("(a|a)*b", as.c_str()));
  EXPECT_FALSE(matches("(a*)*b", std::string(4000, 'a').c_str()));
  EXPECT_TRUE(matches("(a+)+", as.c_str()));
}

// std::regex recursed on nesting and on long tokens (a stack overflow).
TEST(TokenRegexTest, DeepNestingIsAnError) {
  std::string deep = std::string(5000, '(') + "a" + std::string(5000, ')');
  EXPECT_EQ(compileError(deep.c_str()),
            "the regex is 10001 bytes long; at most 4096 are allowed");
  std::string nested = std::string(2000, '(') + "a" + std::string(2000, ')');
  EXPECT_EQ(compileError(nested.c_str()),
            "the regex nests groups 2000 deep; at most 64 levels are allowed");
  std::string unclosed(3000, '(');
  EXPECT_EQ(compileError(unclosed.c_str()),
            "the regex nests groups 3000 deep; at most 64 levels are allowed");
  // At the cap it compiles; escaped and bracketed parentheses do not nest.
  std::string atCap = std::string(64, '(') + "a" + std::string(64, ')');
  EXPECT_TRUE(matches(atCap.c_str(), "a"));
  std::string literal;
  for (int i = 0; i < 100; ++i)
    literal += "\\(";
  EXPECT_TRUE(matches((literal + "[(]\\Q((((\\E").c_str(),
                      (std::string(101, '(') + "((((").c_str()));
  // A long token matches in linear time and without recursion.
  std::string longToken(TokenRegex::kMaxTokenBytes, 'a');
  EXPECT_TRUE(matches("(a|b)*", longToken.c_str()));
}

TEST(TokenRegexTest, OversizePatternsAreAnError) {
  std::string big;
  for (int i = 0; i < 100; ++i)
    big += "[a-z]{1000}";
  EXPECT_EQ(compileError(big.c_str()),
            "the regex is too large: its compiled form exceeds RE2's 1 MiB "
            "budget (simplify it, e.g. smaller repeat counts)");
  std::string longest(TokenRegex::kMaxPatternBytes, 'a');
  EXPECT_TRUE(matches(longest.c_str(), longest.c_str()));
  EXPECT_EQ(compileError((longest + "a").c_str()),
            "the regex is 4097 bytes long; at most 4096 are allowed");
}

TEST(TokenRegexTest, LongTokensAreAnError) {
  std::string error;
  auto re = TokenRegex::compile("a*", error);
  ASSERT_TRUE(re) << error;
  std::string token(TokenRegex::kMaxTokenBytes + 1, 'a');
  EXPECT_FALSE(re->matches(token, error).has_value());
  EXPECT_EQ(error, "the token is 4097 bytes long; regexes match tokens of at "
                   "most 4096 bytes");
}

// Messages echo the pattern only as printable ASCII.
TEST(TokenRegexTest, MessagesArePrintable) {
  EXPECT_EQ(compileError("\\y\n"), "invalid escape '\\\\y' (RE2 syntax)");
  EXPECT_EQ(compileError("[\x7f-\x01]"),
            "invalid character class or range '\\x7f-\\x01'");
}

TEST(TokenRegexTest, EscapesAndBracketsAreNotRepeats) {
  EXPECT_TRUE(matches("\\*w", "*w"));
  EXPECT_TRUE(matches("[*+]w", "+w"));
  EXPECT_TRUE(matches("(?:x)?y", "y"));
}

} // namespace
