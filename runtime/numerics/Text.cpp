//===- Text.cpp - Untrusted text in messages ------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Text.h"

std::string nova::rt::printable(std::string_view text, std::size_t maxBytes) {
  static const char hex[] = "0123456789abcdef";
  std::size_t shown =
      maxBytes == 0 || text.size() <= maxBytes ? text.size() : maxBytes;
  std::string out;
  out.reserve(shown + 16);
  for (std::size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
    case '\n':
      out += "\\n";
      continue;
    case '\r':
      out += "\\r";
      continue;
    case '\t':
      out += "\\t";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    default:
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (shown < text.size())
    out += "...(" + std::to_string(text.size() - shown) + " more bytes)";
  return out;
}
