//===- Json.h - A small, bounded JSON reader --------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Enough JSON for safetensors headers and index files, written for hostile
// input: depth and size limits, duplicate-key detection, byte offsets in
// every error. The runtime cannot use llvm::json (no LLVM dependency).
//
// A parsed document is flat: one array of fixed-size (24-byte) values in
// document order, a value's children right after it. Memory is bounded by
// a small multiple of the text (a value takes at least 2 bytes of text:
// at most 12 bytes of values per byte of text, plus decoded strings, never
// longer than the text), allocated exactly once, after a first pass has
// counted the values; destroying or walking a document never recurses.
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

/// One value of a Document. Values live only inside their Document (they
/// find their children by position), so they cannot be copied.
class Value {
public:
  enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  /// Byte offset of the value in the parsed text.
  uint32_t offset = 0;

  Value() = default;
  Value(const Value &) = delete;
  Value &operator=(const Value &) = delete;
  Value(Value &&) noexcept = default;
  Value &operator=(Value &&) noexcept = default;

  /// A string's decoded text, or a number's text; see asUInt64().
  std::string_view text() const { return std::string_view(chars, count); }
  /// Items of an array, members of an object.
  size_t size() const {
    return kind == Kind::Array || kind == Kind::Object ? count : 0;
  }

  /// Iterates an array's items.
  class ItemIterator {
  public:
    explicit ItemIterator(const Value *v) : v(v) {}
    const Value &operator*() const { return *v; }
    ItemIterator &operator++() {
      v += v->span;
      return *this;
    }
    bool operator!=(const ItemIterator &o) const { return v != o.v; }

  private:
    const Value *v;
  };
  /// Iterates an object's members as (key, value) pairs.
  class MemberIterator {
  public:
    explicit MemberIterator(const Value *key) : key(key) {}
    std::pair<std::string_view, const Value &> operator*() const {
      return {key->text(), key[1]};
    }
    MemberIterator &operator++() {
      key += 1 + key[1].span;
      return *this;
    }
    bool operator!=(const MemberIterator &o) const { return key != o.key; }

  private:
    const Value *key;
  };
  template <typename It> struct Range {
    It first, last;
    It begin() const { return first; }
    It end() const { return last; }
  };
  /// An array's items (empty for any other kind).
  Range<ItemIterator> items() const {
    const Value *end = this + span;
    return {ItemIterator(kind == Kind::Array ? this + 1 : end),
            ItemIterator(end)};
  }
  /// An object's members in file order (empty for any other kind).
  Range<MemberIterator> members() const {
    const Value *end = this + span;
    return {MemberIterator(kind == Kind::Object ? this + 1 : end),
            MemberIterator(end)};
  }
  /// Item `i` of an array (i < size()).
  const Value &item(size_t i) const;
  /// The value of key `name` of an object, or nullptr.
  const Value *get(std::string_view name) const;
  /// A non-negative integer number that fits in 64 bits.
  std::optional<uint64_t> asUInt64() const;

private:
  friend class Parser;
  /// String and number: the length of text(); array and object: the
  /// number of items or members.
  uint32_t count = 0;
  /// Values in this one's subtree, itself included (an object's keys are
  /// string values before each member).
  uint32_t span = 1;
  /// A string's or number's text: in the parsed text or the document's
  /// decoded strings.
  const char *chars = nullptr;
};

/// A parsed JSON text. It refers to the text (numbers and strings without
/// escapes are not copied): keep the text alive while using it.
class Document {
public:
  const Value &root() const { return values.front(); }

private:
  friend class Parser;
  friend bool parse(std::string_view, const struct Limits &, Document &,
                    std::string &);
  std::vector<Value> values;
  /// Strings with escapes, decoded (a vector: moving the document keeps
  /// the values' pointers into it valid).
  std::vector<char> decoded;
};

struct Limits {
  /// Nesting depth; at most kMaxDepth whatever is asked.
  unsigned maxDepth = 64;
  size_t maxValues = 10'000'000;
};

/// The deepest nesting any parse accepts (the parser recurses per level).
constexpr unsigned kMaxDepth = 512;

/// Parses one JSON value spanning `text` (surrounding whitespace allowed;
/// at most 4 GiB). Duplicate object keys are an error. On failure returns
/// false with `error` naming the byte offset.
bool parse(std::string_view text, const Limits &limits, Document &out,
           std::string &error);

/// `s` as a JSON string literal (quotes, backslashes and control
/// characters escaped).
std::string quote(std::string_view s);

} // namespace nova::rt::json

#endif // NOVA_RUNTIME_IO_JSON_H
