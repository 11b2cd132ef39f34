//===- Json.h - A small, bounded JSON reader --------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Enough JSON for safetensors headers and index files, written for hostile
// input: depth and size limits, duplicate-key detection, byte offsets in
// every error. The runtime cannot use llvm::json (no LLVM dependency).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_IO_JSON_H
#define NOVA_RUNTIME_IO_JSON_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nova::rt::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  /// Numbers keep their text; see asUInt64().
  std::string text;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;
  /// Byte offset of the value in the parsed text.
  size_t offset = 0;

  /// The value of key `name` of an object, or nullptr.
  const Value *get(std::string_view name) const;
  /// A non-negative integer number that fits in 64 bits.
  std::optional<uint64_t> asUInt64() const;
};

struct Limits {
  unsigned maxDepth = 64;
  size_t maxValues = 10'000'000;
};

/// Parses one JSON value spanning `text` (surrounding whitespace allowed).
/// Duplicate object keys are an error. On failure returns false with
/// `error` naming the byte offset.
bool parse(std::string_view text, const Limits &limits, Value &out,
           std::string &error);

/// `s` as a JSON string literal (quotes, backslashes and control
/// characters escaped).
std::string quote(std::string_view s);

} // namespace nova::rt::json

#endif // NOVA_RUNTIME_IO_JSON_H
