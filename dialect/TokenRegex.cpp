//===- TokenRegex.cpp - Whole-token regexes for partition rules -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiled with exceptions enabled (see CMakeLists.txt); no exception leaves
// this file.
//
//===----------------------------------------------------------------------===//

#include "dialect/TokenRegex.h"

#include <regex>

using namespace mlir::nova;

struct TokenRegex::Impl {
  std::regex re;
};

TokenRegex::TokenRegex(std::string source, std::unique_ptr<Impl> impl)
    : source(std::move(source)), impl(std::move(impl)) {}

TokenRegex::~TokenRegex() = default;

/// Human-readable text for std::regex error codes (what() is vague and
/// implementation-specific).
static std::string describe(const std::regex_error &e) {
  switch (e.code()) {
  case std::regex_constants::error_collate:
    return "invalid collating element name";
  case std::regex_constants::error_ctype:
    return "invalid character class name";
  case std::regex_constants::error_escape:
    return "invalid escape or trailing backslash";
  case std::regex_constants::error_backref:
    return "invalid back reference";
  case std::regex_constants::error_brack:
    return "mismatched brackets '[' and ']'";
  case std::regex_constants::error_paren:
    return "mismatched parentheses '(' and ')'";
  case std::regex_constants::error_brace:
    return "mismatched braces '{' and '}'";
  case std::regex_constants::error_badbrace:
    return "invalid range in braces '{}'";
  case std::regex_constants::error_range:
    return "invalid character range";
  case std::regex_constants::error_space:
    return "out of memory compiling the regex";
  case std::regex_constants::error_badrepeat:
    return "a repeat ('*', '+', '?' or '{') with nothing to repeat";
  case std::regex_constants::error_complexity:
    return "the match is too complex";
  case std::regex_constants::error_stack:
    return "the match ran out of stack";
  default:
    return e.what();
  }
}

/// libstdc++ reports a quantifier with nothing before it ("*w", "a|+b") as
/// mismatched parentheses; find that case first so the message is right.
static bool hasDanglingRepeat(llvm::StringRef pattern) {
  bool escaped = false, inBracket = false;
  char prev = 0; // previous significant character; 0 at the start
  for (char c : pattern) {
    if (escaped) {
      escaped = false;
      prev = 'a';
      continue;
    }
    if (c == '\\') {
      escaped = true;
      continue;
    }
    if (inBracket) {
      inBracket = c != ']';
      prev = 'a';
      continue;
    }
    if (c == '[')
      inBracket = true;
    bool quantifier = c == '*' || c == '+' || (c == '?' && prev != '(');
    if (quantifier && (prev == 0 || prev == '(' || prev == '|'))
      return true;
    prev = c;
  }
  return false;
}

std::unique_ptr<TokenRegex> TokenRegex::compile(llvm::StringRef pattern,
                                                std::string &error) {
  if (hasDanglingRepeat(pattern)) {
    error = describe(std::regex_error(std::regex_constants::error_badrepeat));
    return nullptr;
  }
  try {
    auto impl = std::make_unique<Impl>();
    impl->re = std::regex(pattern.begin(), pattern.end(),
                          std::regex_constants::ECMAScript);
    return std::unique_ptr<TokenRegex>(
        new TokenRegex(pattern.str(), std::move(impl)));
  } catch (const std::regex_error &e) {
    error = describe(e);
  } catch (const std::exception &e) {
    error = e.what();
  } catch (...) {
    error = "unknown error compiling the regex";
  }
  return nullptr;
}

std::optional<bool> TokenRegex::matches(llvm::StringRef token,
                                        std::string &error) const {
  try {
    return std::regex_match(token.begin(), token.end(), impl->re);
  } catch (const std::regex_error &e) {
    error = describe(e);
  } catch (const std::exception &e) {
    error = e.what();
  } catch (...) {
    error = "unknown error matching the regex";
  }
  return std::nullopt;
}
