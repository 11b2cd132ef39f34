//===- SafeTensorsTest.cpp - Strict safetensors reading and writing -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Every validation rule, each with a crafted bad file.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/AtomicFile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace nova::rt;

namespace {

class SafeTensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nova-st-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir = tmpl;
  }
  void TearDown() override {
    for (const std::string &f : files)
      std::remove(f.c_str());
    rmdir(dir.c_str());
  }

  /// Writes a file with header `json` (length-prefixed) and `data`.
  std::string craft(const std::string &json, const std::string &data,
                    int64_t lengthOverride = -1) {
    std::string path = dir + "/f" + std::to_string(files.size());
    files.push_back(path);
    uint64_t n = lengthOverride >= 0 ? static_cast<uint64_t>(lengthOverride)
                                     : json.size();
    std::string bytes;
    for (int i = 0; i < 8; ++i)
      bytes += static_cast<char>(n >> (8 * i));
    bytes += json + data;
    std::string error;
    EXPECT_TRUE(writeFileAtomically(path, bytes, error)) << error;
    return path;
  }

  std::string openError(const std::string &path) {
    std::string error;
    EXPECT_FALSE(SafeTensorsFile::open(path, error));
    // Strip the "'<path>': " prefix.
    return error.substr(path.size() + 4);
  }

  std::string dir;
  std::vector<std::string> files;
};

TEST_F(SafeTensorsTest, WriteThenReadZeroCopy) {
  HostTensor a = HostTensor::zeros(DType::I8, {2, 3});
  for (int i = 0; i < 6; ++i)
    a.mutableAs<int8_t>()[i] = static_cast<int8_t>(i - 3);
  HostTensor b = HostTensor::zeros(DType::BF16, {1, 3});
  b.mutableAs<uint16_t>()[2] = 0x3f80;
  std::string path = dir + "/ok.safetensors";
  files.push_back(path);
  std::string error;
  ASSERT_TRUE(writeSafeTensors(path, {{"w", a}, {"w.scales", b}},
                               {{"w.scales.layout", "per_column"}}, error))
      << error;
  auto file = SafeTensorsFile::open(path, error);
  ASSERT_TRUE(file) << error;
  ASSERT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->metadata().at("w.scales.layout"), "per_column");
  HostTensor w;
  ASSERT_TRUE(file->load("w", w, error)) << error;
  EXPECT_TRUE(w.isView());
  EXPECT_EQ(w.intAt(0), -3);
  EXPECT_EQ(w.intAt(5), 2);
  HostTensor s;
  ASSERT_TRUE(file->load("w.scales", s, error));
  EXPECT_EQ(s.floatAt(2), 1.0);
  EXPECT_FALSE(file->load("missing", s, error));
  EXPECT_NE(error.find("no tensor \"missing\""), std::string::npos);
}

TEST_F(SafeTensorsTest, ValidationRules) {
  const std::string one =
      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  {
    std::string path = dir + "/short";
    files.push_back(path);
    std::string error;
    ASSERT_TRUE(writeFileAtomically(path, std::string("\x02\0\0", 3), error));
    EXPECT_EQ(
        openError(path),
        "byte 0: truncated: 3 bytes, shorter than the 8-byte header length");
  }
  EXPECT_EQ(openError(craft("", "")),
            "byte 8: the header does not start with '{'");
  EXPECT_EQ(
      openError(craft("{}", "", 100'000'001)),
      "byte 0: header length 100000001 exceeds the limit of 100000000 bytes");
  EXPECT_EQ(
      openError(craft("{" + one + "}", "abcd", 5000)),
      "byte 0: header length 5000 runs past the end of the file (66 bytes)");
  EXPECT_EQ(openError(craft("[" + one + "]", "abcd")),
            "byte 8: the header does not start with '{'");
  EXPECT_EQ(openError(craft("{" + one, "abcd")).substr(0, 20),
            "invalid JSON header:");
  EXPECT_EQ(
      openError(craft(
          R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "abcd")),
      "header byte 14: tensor \"a\": unknown dtype \"F33\"");
  EXPECT_EQ(
      openError(craft(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd")),
      "header byte 47: tensor \"a\": shape [2] of F32 needs 8 bytes, "
      "data_offsets span 4");
  EXPECT_EQ(
      openError(craft(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", "abcd")),
      "header byte 47: tensor \"a\": data_offsets end 8 is past the data "
      "section (4 bytes)");
  EXPECT_EQ(
      openError(craft(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "abcd")),
      "header byte 47: tensor \"a\": data_offsets begin 4 is after end 0");
  EXPECT_EQ(openError(craft(
                R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                "abcdefgh")),
            "header byte 58: tensor \"b\" overlaps the previous tensor (starts "
            "at 2, previous ends at 4)");
  EXPECT_EQ(openError(craft(
                R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                "abcdefgh")),
            "header byte 5: gap in the data section before tensor \"a\" (bytes "
            "0 to 4 belong to no tensor)");
  EXPECT_EQ(openError(craft("{" + one + "}", "abcdefgh")),
            "header byte 5: the data section has 4 trailing bytes that belong "
            "to no tensor");
  EXPECT_EQ(openError(craft("{" + one + "," + one + "}", "abcd")),
            "invalid JSON header: duplicate key \"a\" at byte 54");
  EXPECT_EQ(openError(craft(
                R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                "abcd")),
            "header byte 29: tensor \"a\": shape entry is not a non-negative "
            "integer");
  EXPECT_EQ(
      openError(craft(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})",
          "abcd")),
      "header byte 57: tensor \"a\": unknown key \"x\"");
  EXPECT_EQ(openError(craft(R"({"__metadata__":{"k":1}})", "")),
            "header byte 21: __metadata__ entry \"k\" is not a string");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(
      openError(craft(R"({"__metadata__":)" + deep + "}", "")),
      "invalid JSON header: JSON nested deeper than 64 levels at byte 80");
}

TEST_F(SafeTensorsTest, NamesAreEscapedAndCountsCapped) {
  // A tensor name holding a newline and an escape sequence is echoed as C
  // escapes, never raw.
  EXPECT_EQ(
      openError(
          craft("{\"a\\n\\u001b[31m\":{\"dtype\":\"F\\u00003\",\"shape\":[1],"
                "\"data_offsets\":[0,4]}}",
                "abcd")),
      "header byte 26: tensor \"a\\n\\x1b[31m\": unknown dtype \"F\\x003\"");
  std::string rank = "[" + std::string(129, '1') + "]";
  for (size_t i = 2; i < rank.size() - 1; i += 2)
    rank[i] = ',';
  EXPECT_EQ(openError(craft(R"({"a":{"dtype":"F32","shape":)" + rank +
                                R"(,"data_offsets":[0,4]}})",
                            "abcd")),
            "header byte 28: tensor \"a\": shape has 65 dimensions, more than "
            "the limit of 64");
}

TEST_F(SafeTensorsTest, TooManyEntries) {
  // More entries than kMaxSafeTensorsEntries are refused before any is
  // looked at (each costs far more memory than its header bytes).
  std::string header = "{";
  for (size_t i = 0; i <= kMaxSafeTensorsEntries; ++i)
    header += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  header += "}";
  EXPECT_EQ(openError(craft(header, "")),
            "header byte 0: 1000001 entries, more than the limit of 1000000 "
            "tensors");
}

TEST_F(SafeTensorsTest, UnsupportedDTypeIsListedButNotLoaded) {
  std::string path = craft(
      R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", "abcdefgh");
  std::string error;
  auto file = SafeTensorsFile::open(path, error);
  ASSERT_TRUE(file) << error;
  HostTensor t;
  EXPECT_FALSE(file->load("a", t, error));
  EXPECT_NE(error.find("has dtype F64, which Nova does not load"),
            std::string::npos);
}

TEST_F(SafeTensorsTest, FailedWriteLeavesNoFile) {
  std::string path = dir + "/never.safetensors";
  std::string error;
  HostTensor t = HostTensor::zeros(DType::F32, {1});
  EXPECT_FALSE(writeSafeTensors(path, {{"__metadata__", t}}, {}, error));
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

} // namespace
