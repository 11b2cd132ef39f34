//===- TensorLiteral.cpp - Tensors written on a command line --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/TensorLiteral.h"

#include "nova/runtime/DType.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/Text.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace nova::rt;

namespace {

/// `text` split at `sep` (an empty text gives one empty piece).
std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos)
      return parts;
    start = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// A whole-text float literal (strtod's syntax: decimal, hex, inf, nan).
bool parseFloat(std::string_view s, double &v) {
  std::string text(trim(s));
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  v = std::strtod(text.c_str(), &end);
  // Overflow to +-inf is a value like any other: it rounds to inf in the
  // dtype too; underflow likewise gives a (signed) zero or subnormal.
  return end == text.c_str() + text.size();
}

/// A whole-text integer literal (decimal, or 0x hexadecimal).
bool parseInt(std::string_view s, int64_t &v) {
  std::string text(trim(s));
  if (text.empty())
    return false;
  // Base 10, or 16 after 0x: a leading 0 is not octal.
  size_t digits = text[0] == '-' || text[0] == '+' ? 1 : 0;
  bool hex =
      text.compare(digits, 2, "0x") == 0 || text.compare(digits, 2, "0X") == 0;
  char *end = nullptr;
  errno = 0;
  long long r = std::strtoll(text.c_str(), &end, hex ? 16 : 10);
  if (end != text.c_str() + text.size() || errno == ERANGE)
    return false;
  v = r;
  return true;
}

/// The SHAPExDTYPE prefix: "2x3xf32" -> {2, 3}, f32; "f32" -> {}, f32.
bool parseType(std::string_view text, std::vector<int64_t> &shape, DType &dtype,
               std::string &error) {
  std::vector<std::string_view> parts = split(text, 'x');
  std::optional<DType> d = parseDType(parts.back());
  if (!d) {
    error = "unknown dtype '" + printable(parts.back()) + "' in '" +
            printable(text) + "' (expected e.g. 2x3xf32)";
    return false;
  }
  dtype = *d;
  shape.clear();
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int64_t n = -1;
    if (parts[i].empty() || parts[i][0] == '-' || !parseInt(parts[i], n) ||
        n < 0) {
      error = "dimension " + std::to_string(i) + " of '" + printable(text) +
              "' is not a non-negative integer";
      return false;
    }
    shape.push_back(n);
  }
  return true;
}

} // namespace

bool nova::rt::isTensorLiteral(std::string_view text) {
  // "SHAPExDTYPE=...": a type has no '/' or '.', which a file name with an
  // '=' in it almost always has; a bad type is then reported as such.
  size_t eq = text.find('=');
  if (eq != std::string_view::npos)
    return eq > 0 &&
           text.substr(0, eq).find_first_of("/.") == std::string_view::npos;
  if (text.empty())
    return false;
  for (std::string_view v : split(text, ',')) {
    double d;
    int64_t i;
    std::string_view t = trim(v);
    if (!parseFloat(t, d) && !parseInt(t, i) && t != "true" && t != "false")
      return false;
  }
  return true;
}

bool nova::rt::parseTensorLiteral(std::string_view text, DType dtype,
                                  const std::vector<int64_t> &shape,
                                  HostTensor &out, std::string &error) {
  std::string_view values = text;
  size_t eq = text.find('=');
  if (eq != std::string_view::npos) {
    std::vector<int64_t> givenShape;
    DType givenType;
    if (!parseType(text.substr(0, eq), givenShape, givenType, error))
      return false;
    if (givenShape != shape || givenType != dtype) {
      error = "'" + printable(text.substr(0, eq)) + "' does not match " +
              std::string(dtypeName(dtype)) + formatShape(shape);
      return false;
    }
    values = text.substr(eq + 1);
  }
  std::optional<int64_t> count = checkedProduct(shape);
  if (!count) {
    error = "the element count of " + formatShape(shape) + " overflows";
    return false;
  }
  std::vector<std::string_view> items = split(values, ',');
  if (static_cast<int64_t>(items.size()) != *count && items.size() != 1) {
    error = std::to_string(items.size()) + " values for " +
            std::string(dtypeName(dtype)) + formatShape(shape) + " (" +
            std::to_string(*count) + " elements; one value sets them all)";
    return false;
  }
  out = HostTensor::zeros(dtype, shape);
  for (size_t k = 0; k < items.size(); ++k) {
    std::string_view item = trim(items[k]);
    auto bad = [&](const char *what) {
      error = "value " + std::to_string(k) + " ('" + printable(item) +
              "') is not " + what;
      return false;
    };
    double f = 0;
    int64_t n = 0;
    if (isFloat(dtype)) {
      if (!parseFloat(item, f))
        return bad("a number");
    } else if (dtype == DType::Bool) {
      if (item == "true" || item == "false")
        n = item == "true";
      else if (!parseInt(item, n) || (n != 0 && n != 1))
        return bad("0, 1, true or false");
    } else {
      if (!parseInt(item, n))
        return bad("an integer");
      int64_t lo = dtype == DType::I8    ? -128
                   : dtype == DType::I32 ? std::numeric_limits<int32_t>::min()
                                         : std::numeric_limits<int64_t>::min();
      int64_t hi = dtype == DType::I8    ? 127
                   : dtype == DType::I32 ? std::numeric_limits<int32_t>::max()
                                         : std::numeric_limits<int64_t>::max();
      if (n < lo || n > hi)
        return bad(dtype == DType::I8    ? "in the range of i8"
                   : dtype == DType::I32 ? "in the range of i32"
                                         : "in the range of i64");
    }
    int64_t first = items.size() == 1 ? 0 : static_cast<int64_t>(k);
    int64_t last = items.size() == 1 ? *count : first + 1;
    for (int64_t i = first; i < last; ++i) {
      if (isFloat(dtype))
        out.setFloatAt(i, f);
      else
        out.setIntAt(i, n);
    }
  }
  return true;
}
