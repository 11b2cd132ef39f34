//===- TokenRegex.cpp - Whole-token regexes for partition rules -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/TokenRegex.h"

#include "nova/runtime/Text.h"

#include <re2/re2.h>

#include <algorithm>

using namespace mlir::nova;
using ::nova::rt::printable;

struct TokenRegex::Impl {
  explicit Impl(llvm::StringRef pattern, const RE2::Options &options)
      : re(re2::StringPiece(pattern.data(), pattern.size()), options) {}
  RE2 re;
};

TokenRegex::TokenRegex(std::string source, std::unique_ptr<Impl> impl)
    : source(std::move(source)), impl(std::move(impl)) {}

TokenRegex::~TokenRegex() = default;

/// The deepest nesting of groups in `pattern`, skipping escapes, `\Q..\E`
/// literals and bracket expressions as RE2 parses them. Only used to cap
/// nesting before RE2 sees the pattern; RE2 reports unbalanced parentheses.
static unsigned nestingDepth(llvm::StringRef pattern) {
  unsigned depth = 0, deepest = 0;
  size_t n = pattern.size();
  for (size_t i = 0; i < n; ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < n && pattern[i + 1] == 'Q') {
        size_t end = pattern.find("\\E", i + 2);
        i = end == llvm::StringRef::npos ? n : end + 1;
      } else {
        ++i; // the escaped character
      }
      continue;
    }
    if (c == '[') {
      // A ']' right after '[' or '[^' is literal; '[:name:]' nests inside.
      ++i;
      if (i < n && pattern[i] == '^')
        ++i;
      if (i < n && pattern[i] == ']')
        ++i;
      for (; i < n && pattern[i] != ']'; ++i) {
        if (pattern[i] == '\\') {
          ++i;
        } else if (pattern[i] == '[' && i + 1 < n && pattern[i + 1] == ':') {
          size_t end = pattern.find(":]", i + 2);
          if (end != llvm::StringRef::npos)
            i = end + 1;
        }
      }
      continue;
    }
    if (c == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ')' && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// Where the first unescaped `what` of `pattern` starts, if any.
static size_t findUnescaped(llvm::StringRef pattern, llvm::StringRef what) {
  for (size_t at = pattern.find(what); at != llvm::StringRef::npos;
       at = pattern.find(what, at + 1)) {
    size_t backslashes = 0;
    while (backslashes < at && pattern[at - 1 - backslashes] == '\\')
      ++backslashes;
    if (backslashes % 2 == 0)
      return at;
  }
  return llvm::StringRef::npos;
}

/// A precise message for RE2's failure to compile `pattern`, naming the
/// ECMAScript (std::regex, JavaScript, Python) constructs RE2 lacks.
static std::string describe(const RE2 &re, llvm::StringRef pattern) {
  const std::string &arg = re.error_arg();
  std::string quoted = "'" + printable(arg) + "'";
  switch (re.error_code()) {
  case RE2::ErrorBadEscape:
    if (arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9')
      return "back reference " + quoted +
             " is not supported: partition-rule regexes use RE2 syntax, "
             "which has no back references";
    if (arg == "\\k")
      return "named back reference '\\k<...>' is not supported: "
             "partition-rule regexes use RE2 syntax, which has no back "
             "references";
    if (arg == "\\c")
      return "control escape '\\cX' is not supported in RE2 syntax (write "
             "\\x01..\\x1f)";
    if (arg == "\\u")
      return "escape '\\uHHHH' is not supported in RE2 syntax (write "
             "\\x{HHHH})";
    return "invalid escape " + quoted + " (RE2 syntax)";
  case RE2::ErrorBadCharClass:
    return "invalid character class " + quoted;
  case RE2::ErrorBadCharRange:
    return "invalid character class or range " + quoted;
  case RE2::ErrorMissingBracket:
    return "mismatched brackets '[' and ']'";
  case RE2::ErrorMissingParen:
  case RE2::ErrorUnexpectedParen:
    return "mismatched parentheses '(' and ')'";
  case RE2::ErrorTrailingBackslash:
    return "invalid escape or trailing backslash";
  case RE2::ErrorRepeatArgument:
    return "a repeat ('*', '+', '?' or '{') with nothing to repeat";
  case RE2::ErrorRepeatSize:
    return "invalid repeat count " + quoted +
           " (each count at most 1000, the minimum not above the maximum, "
           "and nested counts multiplying to at most 1000)";
  case RE2::ErrorRepeatOp:
    return "invalid repeat " + quoted + " (a repeat of a repeat)";
  case RE2::ErrorBadPerlOp: {
    llvm::StringRef op(arg);
    if (op.starts_with("(?=") || op.starts_with("(?!"))
      return "lookahead " + quoted +
             " is not supported: partition-rule regexes use RE2 syntax, "
             "which has no lookaround";
    if (op.starts_with("(?<")) {
      size_t at = findUnescaped(pattern, "(?<");
      char next = at + 3 < pattern.size() ? pattern[at + 3] : 0;
      if (next == '=' || next == '!')
        return "lookbehind '(?<" + std::string(1, next) +
               "' is not supported: partition-rule regexes use RE2 syntax, "
               "which has no lookaround";
      return "named group '(?<name>...)' is not supported in this RE2 "
             "version: write '(?P<name>...)'";
    }
    return "invalid group flags " + quoted +
           " (RE2 syntax allows (?:...), (?P<name>...) and the flags i, m, "
           "s, U)";
  }
  case RE2::ErrorBadUTF8:
    return "invalid UTF-8 in the regex";
  case RE2::ErrorBadNamedCapture:
    return "invalid or repeated group name " + quoted;
  case RE2::ErrorPatternTooLarge:
    return "the regex is too large: its compiled form exceeds RE2's " +
           std::to_string(TokenRegex::kMaxMemBytes >> 20) +
           " MiB budget (simplify it, e.g. smaller repeat counts)";
  case RE2::NoError:
  case RE2::ErrorInternal:
    break;
  }
  return "RE2 cannot compile the regex: " + printable(re.error());
}

std::unique_ptr<TokenRegex> TokenRegex::compile(llvm::StringRef pattern,
                                                std::string &error) {
  if (pattern.size() > kMaxPatternBytes) {
    error = "the regex is " + std::to_string(pattern.size()) +
            " bytes long; at most " + std::to_string(kMaxPatternBytes) +
            " are allowed";
    return nullptr;
  }
  if (unsigned depth = nestingDepth(pattern); depth > kMaxNesting) {
    error = "the regex nests groups " + std::to_string(depth) +
            " deep; at most " + std::to_string(kMaxNesting) +
            " levels are allowed";
    return nullptr;
  }
  RE2::Options options;
  // Bytes, as std::regex matched them: every token is valid input and '.'
  // is one byte.
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  options.set_max_mem(kMaxMemBytes);
  auto impl = std::make_unique<Impl>(pattern, options);
  if (!impl->re.ok()) {
    error = describe(impl->re, pattern);
    return nullptr;
  }
  return std::unique_ptr<TokenRegex>(
      new TokenRegex(pattern.str(), std::move(impl)));
}

std::optional<bool> TokenRegex::matches(llvm::StringRef token,
                                        std::string &error) const {
  if (token.size() > kMaxTokenBytes) {
    error = "the token is " + std::to_string(token.size()) +
            " bytes long; regexes match tokens of at most " +
            std::to_string(kMaxTokenBytes) + " bytes";
    return std::nullopt;
  }
  return RE2::FullMatch(re2::StringPiece(token.data(), token.size()), impl->re);
}
