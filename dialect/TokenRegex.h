//===- TokenRegex.h - Whole-token regexes for partition rules ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Partition rules (grok1-semantics.md §2.2) match one path token per regex.
// Nova uses ECMAScript syntax (the closest to Python's `re` among what C++
// ships) and strict whole-token matching. std::regex reports errors by
// throwing, and Nova is built without exceptions, so this wrapper is the only
// place that touches std::regex: it is compiled with exceptions and turns
// every one into an error string.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_TOKENREGEX_H
#define NOVA_DIALECT_TOKENREGEX_H

#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>

namespace mlir::nova {

/// A compiled regex that must match a whole path token.
class TokenRegex {
public:
  /// Compiles `pattern`; on failure returns nullptr and sets `error` to the
  /// reason (e.g. "mismatched parentheses").
  static std::unique_ptr<TokenRegex> compile(llvm::StringRef pattern,
                                             std::string &error);
  ~TokenRegex();

  /// Whether the regex matches all of `token`. std::nullopt when matching
  /// failed inside the regex engine (e.g. its complexity limit); `error` then
  /// says why.
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
