//===- Json.cpp - A small, bounded JSON reader ----------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "io/Json.h"

#include "nova/runtime/Text.h"

#include <algorithm>
#include <cstdio>

using namespace nova::rt;
using namespace nova::rt::json;

const Value &Value::item(size_t i) const {
  ItemIterator it = items().begin();
  while (i-- > 0)
    ++it;
  return *it;
}

const Value *Value::get(std::string_view name) const {
  for (const auto &[key, value] : members())
    if (key == name)
      return &value;
  return nullptr;
}

std::optional<uint64_t> Value::asUInt64() const {
  std::string_view digits = text();
  if (kind != Kind::Number || digits.empty() || digits.size() > 20)
    return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > UINT64_MAX / 10 || next < v * 10)
      return std::nullopt;
    v = next;
  }
  if (digits.size() > 1 && digits[0] == '0')
    return std::nullopt; // JSON forbids leading zeros
  return v;
}

namespace nova::rt::json {
/// Two passes over the text with the same code: the first validates it and
/// counts the values and decoded string bytes, the second (`doc` set)
/// stores them into storage allocated once to the exact size.
class Parser {
public:
  Parser(std::string_view text, const Limits &limits, std::string &error)
      : text(text), limits(limits), error(error),
        maxDepth(std::min(limits.maxDepth, kMaxDepth)) {}

  bool parseDocument(Document *into) {
    doc = into;
    pos = 0;
    values = 0;
    decodedBytes = 0;
    skipSpace();
    if (!parseValue(0))
      return false;
    skipSpace();
    if (pos != text.size())
      return fail("unexpected trailing data");
    return true;
  }

  size_t valueCount() const { return values; }
  size_t decodedCount() const { return decodedBytes; }

private:
  bool fail(const std::string &message) {
    error = message + " at byte " + std::to_string(pos);
    return false;
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool literal(std::string_view word) {
    if (text.substr(pos, word.size()) != word)
      return fail("invalid literal");
    pos += word.size();
    return true;
  }
  /// A new value at the current position (stored only in the second pass);
  /// its index, or SIZE_MAX in the first pass.
  bool begin(Value::Kind kind, size_t &index) {
    if (++values > limits.maxValues)
      return fail("JSON has more than " + std::to_string(limits.maxValues) +
                  " values");
    index = SIZE_MAX;
    if (!doc)
      return true;
    index = doc->values.size();
    doc->values.emplace_back();
    Value &v = doc->values.back();
    v.kind = kind;
    v.offset = static_cast<uint32_t>(pos);
    return true;
  }
  Value *at(size_t index) {
    return index == SIZE_MAX ? nullptr : &doc->values[index];
  }
  bool parseValue(unsigned depth) {
    if (depth > maxDepth)
      return fail("JSON nested deeper than " + std::to_string(maxDepth) +
                  " levels");
    skipSpace();
    if (pos >= text.size())
      return fail("unexpected end of JSON");
    size_t index;
    char c = text[pos];
    switch (c) {
    case '{':
      return begin(Value::Kind::Object, index) && parseObject(index, depth);
    case '[':
      return begin(Value::Kind::Array, index) && parseArray(index, depth);
    case '"':
      return begin(Value::Kind::String, index) && parseString(index);
    case 't':
      if (!begin(Value::Kind::Bool, index))
        return false;
      if (Value *v = at(index))
        v->boolean = true;
      return literal("true");
    case 'f':
      return begin(Value::Kind::Bool, index) && literal("false");
    case 'n':
      return begin(Value::Kind::Null, index) && literal("null");
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return begin(Value::Kind::Number, index) && parseNumber(index);
      return fail("unexpected character '" +
                  printable(std::string_view(&text[pos], 1)) + "'");
    }
  }
  bool parseNumber(size_t index) {
    size_t start = pos;
    if (text[pos] == '-')
      ++pos;
    auto digits = [&] {
      size_t s = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
      return pos > s;
    };
    if (!digits())
      return fail("invalid number");
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (!digits())
        return fail("invalid number");
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (!digits())
        return fail("invalid number");
    }
    if (Value *v = at(index)) {
      v->chars = text.data() + start;
      v->count = static_cast<uint32_t>(pos - start);
    }
    return true;
  }
  /// Appends decoded bytes (counted in the first pass, stored in the
  /// second).
  void emit(std::string_view bytes) {
    decodedBytes += bytes.size();
    if (doc)
      doc->decoded.insert(doc->decoded.end(), bytes.begin(), bytes.end());
  }
  void emitUtf8(uint32_t cp) {
    char s[4];
    size_t n = 0;
    if (cp < 0x80) {
      s[n++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      s[n++] = static_cast<char>(0xC0 | (cp >> 6));
      s[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s[n++] = static_cast<char>(0xE0 | (cp >> 12));
      s[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s[n++] = static_cast<char>(0xF0 | (cp >> 18));
      s[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    emit(std::string_view(s, n));
  }
  bool hex4(uint32_t &v) {
    if (pos + 4 > text.size())
      return fail("truncated \\u escape");
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return fail("invalid \\u escape");
    }
    return true;
  }
  /// A string at `pos`: a view of the text unless it has escapes, decoded
  /// into the document's strings otherwise.
  bool parseString(size_t index) {
    ++pos; // opening quote
    size_t start = pos, decodedStart = decodedBytes;
    bool escaped = false;
    while (true) {
      if (pos >= text.size())
        return fail("unterminated string");
      char c = text[pos++];
      if (c == '"')
        break;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        if (escaped)
          emit(std::string_view(&text[pos - 1], 1));
        continue;
      }
      if (!escaped) {
        escaped = true;
        emit(text.substr(start, pos - 1 - start));
      }
      if (pos >= text.size())
        return fail("unterminated escape");
      char e = text[pos++];
      char one;
      switch (e) {
      case '"':
      case '\\':
      case '/':
        one = e;
        break;
      case 'b':
        one = '\b';
        break;
      case 'f':
        one = '\f';
        break;
      case 'n':
        one = '\n';
        break;
      case 'r':
        one = '\r';
        break;
      case 't':
        one = '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t low;
          if (text.substr(pos, 2) != "\\u")
            return fail("unpaired surrogate");
          pos += 2;
          if (!hex4(low) || low < 0xDC00 || low >= 0xE000)
            return fail("unpaired surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return fail("unpaired surrogate");
        }
        emitUtf8(cp);
        continue;
      }
      default:
        return fail("invalid escape");
      }
      emit(std::string_view(&one, 1));
    }
    if (Value *v = at(index)) {
      if (escaped) {
        v->chars = doc->decoded.data() + decodedStart;
        v->count = static_cast<uint32_t>(decodedBytes - decodedStart);
      } else {
        v->chars = text.data() + start;
        v->count = static_cast<uint32_t>(pos - 1 - start);
      }
    }
    return true;
  }
  /// Closes container `index` opened by begin() with `count` children.
  void close(size_t index, size_t count) {
    if (Value *v = at(index)) {
      v->count = static_cast<uint32_t>(count);
      v->span = static_cast<uint32_t>(doc->values.size() - index);
    }
  }
  bool parseArray(size_t index, unsigned depth) {
    ++pos;
    skipSpace();
    size_t count = 0;
    if (pos < text.size() && text[pos] == ']') {
      ++pos;
      close(index, count);
      return true;
    }
    while (true) {
      if (!parseValue(depth + 1))
        return false;
      ++count;
      skipSpace();
      if (pos >= text.size())
        return fail("unterminated array");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == ']') {
        ++pos;
        close(index, count);
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }
  /// The first repeated key of object `index` (second pass), by sorting
  /// the key positions: no per-key allocation.
  bool checkDuplicates(size_t index) {
    if (!doc)
      return true;
    std::vector<uint32_t> keys;
    keys.reserve(doc->values[index].count);
    const Value *base = doc->values.data();
    for (Value::MemberIterator it = doc->values[index].members().begin(),
                               end = doc->values[index].members().end();
         it != end; ++it)
      keys.push_back(static_cast<uint32_t>(&(*it).second - 1 - base));
    std::sort(keys.begin(), keys.end(), [&](uint32_t a, uint32_t b) {
      return std::make_pair(base[a].text(), a) <
             std::make_pair(base[b].text(), b);
    });
    uint32_t first = UINT32_MAX;
    for (size_t i = 1; i < keys.size(); ++i)
      if (base[keys[i]].text() == base[keys[i - 1]].text() &&
          (first == UINT32_MAX || keys[i] < first))
        first = keys[i];
    if (first == UINT32_MAX)
      return true;
    pos = base[first].offset;
    return fail("duplicate key \"" + printable(base[first].text()) + "\"");
  }
  bool parseObject(size_t index, unsigned depth) {
    ++pos;
    skipSpace();
    size_t count = 0;
    if (pos < text.size() && text[pos] == '}') {
      ++pos;
      close(index, count);
      return true;
    }
    while (true) {
      skipSpace();
      if (pos >= text.size() || text[pos] != '"')
        return fail("expected a string key");
      size_t key;
      if (!begin(Value::Kind::String, key) || !parseString(key))
        return false;
      skipSpace();
      if (pos >= text.size() || text[pos] != ':')
        return fail("expected ':'");
      ++pos;
      if (!parseValue(depth + 1))
        return false;
      ++count;
      skipSpace();
      if (pos >= text.size())
        return fail("unterminated object");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == '}') {
        ++pos;
        close(index, count);
        size_t end = pos;
        if (!checkDuplicates(index))
          return false;
        pos = end;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view text;
  const Limits &limits;
  std::string &error;
  unsigned maxDepth;
  Document *doc = nullptr;
  size_t pos = 0;
  size_t values = 0;
  size_t decodedBytes = 0;
};
} // namespace nova::rt::json

bool nova::rt::json::parse(std::string_view text, const Limits &limits,
                           Document &out, std::string &error) {
  if (text.size() >= UINT32_MAX) {
    error = "JSON text of " + std::to_string(text.size()) +
            " bytes exceeds the limit of 4 GiB at byte 0";
    return false;
  }
  Parser parser(text, limits, error);
  if (!parser.parseDocument(nullptr))
    return false;
  Document doc;
  doc.values.reserve(parser.valueCount());
  doc.decoded.reserve(parser.decodedCount());
  if (!parser.parseDocument(&doc))
    return false;
  out = std::move(doc);
  return true;
}

std::string nova::rt::json::quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}
