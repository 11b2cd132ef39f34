//===- Npy.cpp - Strict .npy reading and writing --------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Npy.h"
#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Float.h"
#include "nova/runtime/InputFile.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/Text.h"

#include <cmath>
#include <cstring>

using namespace nova::rt;

namespace {

/// Most dimensions an .npy shape may have (NumPy's own limit is 64).
constexpr size_t kMaxNpyRank = 64;

/// The header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
/// parsed strictly (the exact Python-literal subset numpy writes).
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  /// Offsets in the header text: of the first error, and of the values
  /// of 'descr', 'fortran_order' and 'shape'.
  size_t errorPos = 0, descrPos = 0, fortranPos = 0, shapePos = 0;

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape,
             std::string &error) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    if (!expect('{', error))
      return false;
    while (true) {
      skip();
      if (peek() == '}') {
        ++pos;
        break;
      }
      std::string key;
      if (!string(key, error) || !expect(':', error))
        return false;
      skip();
      size_t valuePos = pos;
      if (key == "descr") {
        descrPos = valuePos;
        if (haveDescr || !string(descr, error))
          return fail(error, "duplicate or invalid 'descr'");
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (haveFortran)
          return fail(error, "duplicate 'fortran_order'");
        fortranPos = valuePos;
        if (text.substr(pos, 4) == "True") {
          fortran = true;
          pos += 4;
        } else if (text.substr(pos, 5) == "False") {
          fortran = false;
          pos += 5;
        } else {
          return fail(error, "'fortran_order' is not True or False");
        }
        haveFortran = true;
      } else if (key == "shape") {
        shapePos = valuePos;
        if (haveShape || !tuple(shape, error))
          return fail(error, "duplicate or invalid 'shape'");
        haveShape = true;
      } else {
        return fail(error, "unknown header key '" + printable(key) + "'");
      }
      skip();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (!expect('}', error))
        return false;
      break;
    }
    skip();
    if (pos != text.size())
      return fail(error, "unexpected text after the header dict");
    if (!haveDescr || !haveFortran || !haveShape)
      return fail(error, "header lacks 'descr', 'fortran_order' or 'shape'");
    return true;
  }

private:
  bool fail(std::string &error, const std::string &message) {
    if (error.empty()) {
      error = message;
      errorPos = pos;
    }
    return false;
  }
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void skip() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\t'))
      ++pos;
  }
  bool expect(char c, std::string &error) {
    skip();
    if (peek() != c)
      return fail(error, std::string("expected '") + c + "' in the header");
    ++pos;
    return true;
  }
  bool string(std::string &out, std::string &error) {
    skip();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return fail(error, "expected a quoted string in the header");
    size_t end = text.find(quote, pos + 1);
    if (end == std::string_view::npos)
      return fail(error, "unterminated string in the header");
    out = std::string(text.substr(pos + 1, end - pos - 1));
    pos = end + 1;
    return true;
  }
  bool tuple(std::vector<int64_t> &out, std::string &error) {
    if (!expect('(', error))
      return false;
    while (true) {
      skip();
      if (peek() == ')') {
        ++pos;
        return true;
      }
      size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
      if (pos == start || pos - start > 18)
        return fail(error, "invalid dimension in 'shape'");
      if (out.size() >= kMaxNpyRank)
        return fail(error, "'shape' has more than " +
                               std::to_string(kMaxNpyRank) + " dimensions");
      out.push_back(std::stoll(std::string(text.substr(start, pos - start))));
      skip();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (!expect(')', error))
        return false;
      return true;
    }
  }

  std::string_view text;
  size_t pos = 0;
};

/// numpy descr for a Nova dtype ('<f4'); bf16 has none (written as f4).
const char *descrFor(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::BF16:
    return "<f4";
  case DType::F16:
    return "<f2";
  case DType::I8:
    return "|i1";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  case DType::Bool:
    return "|b1";
  }
  return "?";
}

std::optional<DType> dtypeForDescr(const std::string &descr) {
  if (descr == "<f4")
    return DType::F32;
  if (descr == "<f2")
    return DType::F16;
  if (descr == "|i1" || descr == "<i1")
    return DType::I8;
  if (descr == "<i4")
    return DType::I32;
  if (descr == "<i8")
    return DType::I64;
  if (descr == "|b1")
    return DType::Bool;
  return std::nullopt;
}

} // namespace

bool nova::rt::parseNpy(const std::string &bytes, const std::string &name,
                        HostTensor &out, std::string &error) {
  // Every message names the file and the byte offset of what is wrong.
  auto fail = [&](size_t offset, const std::string &message) {
    error = "'" + name + "': byte " + std::to_string(offset) + ": " + message;
    return false;
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return fail(0, "not an .npy file (missing the \\x93NUMPY magic)");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<uint8_t>(bytes[8]) |
                (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail(8, "truncated header");
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = (headerLen << 8) | static_cast<uint8_t>(bytes[8 + i]);
    headerStart = 12;
  } else {
    return fail(6, "unsupported .npy version " + std::to_string(major));
  }
  if (headerLen > bytes.size() - headerStart)
    return fail(8, "header length " + std::to_string(headerLen) +
                       " runs past the end of the file");
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  std::string headerError;
  HeaderParser parser(std::string_view(bytes).substr(headerStart, headerLen));
  if (!parser.parse(descr, fortran, shape, headerError))
    return fail(headerStart + parser.errorPos,
                "invalid header: " + headerError);
  std::string shownDescr = printable(descr);
  if (fortran)
    return fail(headerStart + parser.fortranPos,
                "Fortran-order arrays are not supported (save a C-order copy)");
  if (!descr.empty() && descr[0] == '>')
    return fail(headerStart + parser.descrPos,
                "big-endian dtype '" + shownDescr + "' is not supported");
  std::optional<DType> dtype = dtypeForDescr(descr);
  if (!dtype)
    return fail(headerStart + parser.descrPos,
                "unsupported dtype '" + shownDescr +
                    "' (expected <f4, <f2, |i1, <i4, <i8 or |b1)");
  std::optional<int64_t> expected =
      checkedByteSize(shape, static_cast<int64_t>(dtypeSize(*dtype)));
  if (!expected)
    return fail(headerStart + parser.shapePos, "shape " + formatShape(shape) +
                                                   " of " + shownDescr +
                                                   " overflows 64 bits");
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart != static_cast<uint64_t>(*expected))
    return fail(dataStart,
                "data is " + std::to_string(bytes.size() - dataStart) +
                    " bytes, shape " + formatShape(shape) + " of " +
                    shownDescr + " needs " + std::to_string(*expected));
  out = HostTensor::zeros(*dtype, shape);
  std::memcpy(out.mutableBytes(), bytes.data() + dataStart, *expected);
  if (*dtype == DType::Bool)
    for (int64_t i = 0; i < *expected; ++i)
      if (out.bytes()[i] > 1)
        return fail(dataStart + i,
                    "bool element " + std::to_string(i) + " is not 0 or 1");
  return true;
}

bool nova::rt::readNpy(const std::string &path, HostTensor &out,
                       std::string &error) {
  std::string bytes;
  if (!readRegularFile(path, UINT64_MAX, bytes, error))
    return false;
  return parseNpy(bytes, path, out, error);
}

bool nova::rt::writeNpy(const std::string &path, const HostTensor &tensor,
                        std::string &error) {
  HostTensor data = tensor;
  if (tensor.dtype() == DType::BF16) {
    data = HostTensor::zeros(DType::F32, tensor.shape());
    float *f = data.mutableAs<float>();
    for (int64_t i = 0; i < tensor.numElements(); ++i)
      f[i] = static_cast<float>(tensor.floatAt(i));
  }
  std::string header = "{'descr': '" + std::string(descrFor(tensor.dtype())) +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.shape().size(); ++i)
    header += std::to_string(tensor.shape()[i]) + ", ";
  if (tensor.shape().size() > 1)
    header.erase(header.size() - 2); // "(2, 3)" but "(2,)"
  else if (tensor.shape().size() == 1)
    header.erase(header.size() - 1);
  header += "), }";
  // Pad so that magic + length + header is a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char *>(data.bytes()),
               data.sizeInBytes());
  return writeFileAtomically(path, bytes, error);
}

bool nova::rt::convertExactly(const HostTensor &in, DType dtype,
                              HostTensor &out, std::string &error) {
  if (in.dtype() == dtype) {
    out = in;
    return true;
  }
  HostTensor result = HostTensor::zeros(dtype, in.shape());
  uint8_t *dst = result.mutableBytes();
  bool inFloat = isFloat(in.dtype()), outFloat = isFloat(dtype);
  if (inFloat != outFloat) {
    error = "expected " + std::string(dtypeName(dtype)) + ", got " +
            std::string(dtypeName(in.dtype()));
    return false;
  }
  for (int64_t i = 0; i < in.numElements(); ++i) {
    if (outFloat) {
      double v = in.floatAt(i);
      FloatFormat format = dtype == DType::F32    ? kF32Format
                           : dtype == DType::BF16 ? kBF16Format
                                                  : kF16Format;
      uint32_t bits = encodeFloat(v, format);
      double back = decodeFloat(bits, format);
      if (!(back == v || (std::isnan(back) && std::isnan(v)))) {
        error = "element " + std::to_string(i) + " (" + std::to_string(v) +
                ") is not exactly representable in " +
                std::string(dtypeName(dtype));
        return false;
      }
      std::memcpy(dst + i * dtypeSize(dtype), &bits, dtypeSize(dtype));
      continue;
    }
    int64_t v = in.intAt(i);
    int64_t lo = dtype == DType::I8     ? INT8_MIN
                 : dtype == DType::I32  ? INT32_MIN
                 : dtype == DType::Bool ? 0
                                        : INT64_MIN;
    int64_t hi = dtype == DType::I8     ? INT8_MAX
                 : dtype == DType::I32  ? INT32_MAX
                 : dtype == DType::Bool ? 1
                                        : INT64_MAX;
    if (v < lo || v > hi) {
      error = "element " + std::to_string(i) + " (" + std::to_string(v) +
              ") does not fit in " + std::string(dtypeName(dtype));
      return false;
    }
    std::memcpy(dst + i * dtypeSize(dtype), &v, dtypeSize(dtype));
  }
  out = std::move(result);
  return true;
}
