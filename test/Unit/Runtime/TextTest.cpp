//===- TextTest.cpp - printable() for untrusted names in messages ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Text.h"

#include <gtest/gtest.h>

using nova::rt::printable;

TEST(TextTest, PrintableAsciiIsUnchanged) {
  EXPECT_EQ(printable("decoder_layer_0/moe/linear"),
            "decoder_layer_0/moe/linear");
  EXPECT_EQ(printable(""), "");
}

TEST(TextTest, ControlBytesAndBackslashAreEscaped) {
  using namespace std::string_literals;
  EXPECT_EQ(printable("a\nb\r\tc\\d"), "a\\nb\\r\\tc\\\\d");
  EXPECT_EQ(printable("x\0y"s), "x\\x00y");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable("\xc3\xa9\x7f"), "\\xc3\\xa9\\x7f");
}

TEST(TextTest, LongTextIsCut) {
  std::string name(300, 'n');
  EXPECT_EQ(printable(name), std::string(256, 'n') + "...(44 more bytes)");
  EXPECT_EQ(printable(name, 0), name);
  EXPECT_EQ(printable("abcdef", 3), "abc...(3 more bytes)");
}
