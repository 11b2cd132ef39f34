//===- TokenRegex.h - Whole-token regexes for partition rules ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Partition rules (grok1-semantics.md §2.2) match one path token per regex,
// and `nova-ckpt load --only` one tensor name; every user regex in Nova goes
// through this class. The syntax is RE2's (docs/spec.md, "Regex syntax"),
// matched against the whole token (RE2::FullMatch) byte by byte (Latin-1,
// like the std::regex it replaced). RE2 matches in time linear in the
// token, never backtracks and never recurses on the pattern, so a hostile
// rule file cannot hang or crash Nova; patterns, their nesting and tokens
// are capped besides, each with a clear error.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_TOKENREGEX_H
#define NOVA_DIALECT_TOKENREGEX_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace mlir::nova {

/// A compiled regex that must match a whole path token.
class TokenRegex {
public:
  /// The longest pattern compile() accepts, in bytes.
  static constexpr size_t kMaxPatternBytes = 4096;
  /// The deepest nesting of groups '(' compile() accepts.
  static constexpr unsigned kMaxNesting = 64;
  /// The longest token matches() accepts, in bytes.
  static constexpr size_t kMaxTokenBytes = 4096;
  /// RE2's memory budget for one compiled pattern (its programs and DFA
  /// caches); a pattern that does not fit is rejected by compile().
  static constexpr int64_t kMaxMemBytes = 1 << 20;

  /// Compiles `pattern`; on failure returns nullptr and sets `error` to the
  /// reason (e.g. "mismatched parentheses '(' and ')'"), which echoes parts
  /// of the pattern only through nova::rt::printable. Callers add where the
  /// pattern came from.
  static std::unique_ptr<TokenRegex> compile(llvm::StringRef pattern,
                                             std::string &error);
  ~TokenRegex();

  /// Whether the regex matches all of `token`. std::nullopt when the token
  /// is longer than kMaxTokenBytes; `error` then says so. (RE2 itself never
  /// fails a match: past its DFA budget it falls back to its NFA, still
  /// linear in the token.)
  std::optional<bool> matches(llvm::StringRef token, std::string &error) const;

  llvm::StringRef pattern() const { return source; }

private:
  struct Impl;
  TokenRegex(std::string source, std::unique_ptr<Impl> impl);
  std::string source;
  std::unique_ptr<Impl> impl;
};

} // namespace mlir::nova

#endif // NOVA_DIALECT_TOKENREGEX_H
