//===- NpyTest.cpp - Strict .npy reading and writing ----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Npy.h"
#include "nova/runtime/Float.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova::rt;

namespace {

/// An .npy image with a v1.0 header.
std::string npy(const std::string &header, const std::string &data) {
  std::string h = header;
  size_t total = 10 + h.size() + 1;
  h += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

std::string bytesOf(std::initializer_list<float> values) {
  std::string s;
  for (float v : values)
    s.append(reinterpret_cast<const char *>(&v), 4);
  return s;
}

std::string parseError(const std::string &bytes) {
  HostTensor t;
  std::string error;
  EXPECT_FALSE(parseNpy(bytes, "x.npy", t, error));
  return error;
}

TEST(NpyTest, ParsesWhatNumpyWrites) {
  HostTensor t;
  std::string error;
  ASSERT_TRUE(parseNpy(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2, 2), }",
                           bytesOf({1, 2, 3, 4})),
                       "x.npy", t, error))
      << error;
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t.floatAt(3), 4.0);
  ASSERT_TRUE(parseNpy(npy("{'descr': '<i8', 'fortran_order': False, "
                           "'shape': (), }",
                           std::string("\x07\0\0\0\0\0\0\0", 8)),
                       "s.npy", t, error))
      << error;
  EXPECT_EQ(t.shape().size(), 0u);
  EXPECT_EQ(t.intAt(0), 7);
}

TEST(NpyTest, RejectsMalformedFiles) {
  EXPECT_EQ(parseError("hello"),
            "'x.npy': byte 0: not an .npy file (missing the \\x93NUMPY magic)");
  std::string good =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  EXPECT_EQ(parseError(npy(good, bytesOf({1}))),
            "'x.npy': byte 128: data is 4 bytes, shape [2] of <f4 needs 8");
  EXPECT_EQ(parseError(npy(good, bytesOf({1, 2, 3}))),
            "'x.npy': byte 128: data is 12 bytes, shape [2] of <f4 needs 8");
  EXPECT_EQ(parseError(npy("{'descr': '>f4', 'fortran_order': False, "
                           "'shape': (1,), }",
                           bytesOf({1}))),
            "'x.npy': byte 20: big-endian dtype '>f4' is not supported");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': True, "
                           "'shape': (1,), }",
                           bytesOf({1}))),
            "'x.npy': byte 44: Fortran-order arrays are not supported (save a "
            "C-order copy)");
  EXPECT_EQ(
      parseError(npy("{'descr': '<c8', 'fortran_order': False, "
                     "'shape': (1,), }",
                     bytesOf({1, 2}))),
      "'x.npy': byte 20: unsupported dtype '<c8' (expected <f4, <f2, |i1, "
      "<i4, <i8 or |b1)");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'shape': (1,), }", bytesOf({1}))),
            "'x.npy': byte 64: invalid header: header lacks 'descr', "
            "'fortran_order' or 'shape'");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1,), 'extra': 1}",
                           bytesOf({1}))),
            "'x.npy': byte 75: invalid header: unknown header key 'extra'");
  std::string truncated = npy(good, bytesOf({1, 2}));
  truncated[8] = '\x7f'; // header length past the end
  truncated[9] = '\x7f';
  EXPECT_NE(parseError(truncated).find("runs past the end of the file"),
            std::string::npos);
  EXPECT_EQ(parseError(npy("{'descr': '|b1', 'fortran_order': False, "
                           "'shape': (1,), }",
                           "\x05")),
            "'x.npy': byte 128: bool element 0 is not 0 or 1");
}

TEST(NpyTest, NamesAreEscapedAndRankCapped) {
  // A key or dtype with a newline or an escape sequence is echoed escaped.
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1,), 'x\n\x1b[2J': 1}",
                           bytesOf({1}))),
            "'x.npy': byte 76: invalid header: unknown header key "
            "'x\\n\\x1b[2J'");
  EXPECT_EQ(parseError(npy("{'descr': '<c\n\x1b[2J', 'fortran_order': False, "
                           "'shape': (1,), }",
                           bytesOf({1}))),
            "'x.npy': byte 20: unsupported dtype '<c\\n\\x1b[2J' (expected "
            "<f4, <f2, |i1, <i4, <i8 or |b1)");
  std::string dims;
  for (int i = 0; i < 65; ++i)
    dims += "1, ";
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (" +
                               dims + "), }",
                           bytesOf({1}))),
            "'x.npy': byte 254: invalid header: 'shape' has more than 64 "
            "dimensions");
}

TEST(NpyTest, SizesAreCheckedArithmetic) {
  // 2^62 f4 elements: 2^64 bytes, which wraps to 0 in unsigned arithmetic
  // and used to "match" an empty data section.
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1073741824, 1073741824, 4), }",
                           "")),
            "'x.npy': byte 60: shape [1073741824, 1073741824, 4] of <f4 "
            "overflows 64 bits");
  EXPECT_EQ(parseError(npy("{'descr': '|b1', 'fortran_order': False, "
                           "'shape': (1073741824, 1073741824, 1073741824), }",
                           "")),
            "'x.npy': byte 60: shape [1073741824, 1073741824, 1073741824] of "
            "|b1 overflows 64 bits");
  // A zero dimension makes the count 0 however large the others are.
  HostTensor t;
  std::string error;
  ASSERT_TRUE(parseNpy(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1073741824, 1073741824, 1073741824, 0), "
                           "}",
                           ""),
                       "z.npy", t, error))
      << error;
  EXPECT_EQ(t.numElements(), 0);
  EXPECT_EQ(t.sizeInBytes(), 0u);
}

TEST(NpyTest, RefusesFilesThatAreNotRegular) {
  HostTensor t;
  std::string error;
  EXPECT_FALSE(readNpy("/dev/zero", t, error));
  EXPECT_EQ(error, "'/dev/zero': not a regular file (a character device)");
  char dir[] = "/tmp/nova-npy-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string fifo = std::string(dir) + "/fifo.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Without a non-blocking open this would wait for a writer forever.
  EXPECT_FALSE(readNpy(fifo, t, error));
  EXPECT_EQ(error, "'" + fifo + "': not a regular file (a FIFO)");
  EXPECT_FALSE(readNpy(dir, t, error));
  EXPECT_EQ(error,
            "'" + std::string(dir) + "': not a regular file (a directory)");
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST(NpyTest, WriteReadRoundTripAndBF16AsF32) {
  HostTensor t = HostTensor::zeros(DType::BF16, {3});
  uint16_t *b = t.mutableAs<uint16_t>();
  b[0] = floatToBF16Bits(1.5f);
  b[1] = floatToBF16Bits(-78.5f);
  b[2] = floatToBF16Bits(0.001f);
  char dir[] = "/tmp/nova-npy-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string path = std::string(dir) + "/t.npy";
  std::string error;
  ASSERT_TRUE(writeNpy(path, t, error)) << error;
  HostTensor back;
  ASSERT_TRUE(readNpy(path, back, error)) << error;
  EXPECT_EQ(back.dtype(), DType::F32); // numpy has no bf16
  HostTensor exact;
  ASSERT_TRUE(convertExactly(back, DType::BF16, exact, error)) << error;
  EXPECT_EQ(std::memcmp(exact.bytes(), t.bytes(), 6), 0);
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(NpyTest, ConvertExactlyRefusesLoss) {
  HostTensor f = HostTensor::zeros(DType::F32, {2});
  f.mutableAs<float>()[0] = 1.0f;
  f.mutableAs<float>()[1] = 1.001f;
  HostTensor out;
  std::string error;
  EXPECT_FALSE(convertExactly(f, DType::BF16, out, error));
  EXPECT_NE(error.find("element 1"), std::string::npos);
  HostTensor i = HostTensor::zeros(DType::I64, {1});
  i.mutableAs<int64_t>()[0] = 1ll << 40;
  EXPECT_FALSE(convertExactly(i, DType::I32, out, error));
  EXPECT_EQ(error, "element 0 (1099511627776) does not fit in i32");
  EXPECT_FALSE(convertExactly(i, DType::F32, out, error));
  EXPECT_EQ(error, "expected f32, got i64");
}

} // namespace
