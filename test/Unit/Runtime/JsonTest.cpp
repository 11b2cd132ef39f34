//===- JsonTest.cpp - The bounded JSON reader
//------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// White-box tests of runtime/io/Json.h (a private header of the runtime):
// hostile nesting is refused whatever limit is asked, a document is flat
// (fixed-size values, no recursion to destroy or walk it), and strings,
// keys and offsets come out right.
//
//===----------------------------------------------------------------------===//

#include "io/Json.h"

#include <gtest/gtest.h>

using namespace nova::rt;

namespace {

TEST(JsonTest, NestingIsCappedWhateverTheLimits) {
  // A million nested arrays: the parser recurses per level, so even a
  // caller asking for a huge depth gets the hard cap, not a stack overflow.
  std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  json::Limits limits;
  limits.maxDepth = 2'000'000;
  json::Document doc;
  std::string error;
  EXPECT_FALSE(json::parse(deep, limits, doc, error));
  EXPECT_EQ(error, "JSON nested deeper than " +
                       std::to_string(json::kMaxDepth) + " levels at byte " +
                       std::to_string(json::kMaxDepth + 1));
  EXPECT_FALSE(json::parse(deep, json::Limits(), doc, error));
  EXPECT_EQ(error, "JSON nested deeper than 64 levels at byte 65");
}

TEST(JsonTest, ValuesAreSmallAndFlat) {
  // Memory is a small multiple of the text: a value ("1,") takes at least
  // two bytes of text and 24 bytes of document.
  EXPECT_LE(sizeof(json::Value), 24u);
  std::string many = "[" + std::string(199'999, '1') + "]";
  for (size_t i = 2; i < many.size() - 1; i += 2)
    many[i] = ',';
  json::Document doc;
  std::string error;
  ASSERT_TRUE(json::parse(many, json::Limits(), doc, error)) << error;
  EXPECT_EQ(doc.root().size(), 100'000u);
  size_t ones = 0;
  for (const json::Value &v : doc.root().items())
    ones += v.text() == "1";
  EXPECT_EQ(ones, 100'000u);
  // Deep documents (within the cap) are walked and destroyed without
  // recursion: a copy-free move keeps every view valid.
  std::string nested =
      std::string(60, '[') + "\"a\\nb\"" + std::string(60, ']');
  json::Document moved;
  {
    json::Document inner;
    ASSERT_TRUE(json::parse(nested, json::Limits(), inner, error)) << error;
    moved = std::move(inner);
  }
  const json::Value *v = &moved.root();
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(v->kind, json::Value::Kind::Array);
    ASSERT_EQ(v->size(), 1u);
    v = &v->item(0);
  }
  EXPECT_EQ(v->kind, json::Value::Kind::String);
  EXPECT_EQ(v->text(), "a\nb");
  EXPECT_EQ(v->offset, 60u);
}

TEST(JsonTest, ObjectsKeysAndErrors) {
  json::Document doc;
  std::string error;
  ASSERT_TRUE(
      json::parse(R"( {"a": [1, {"b": true}], "c\u00e9": null, "d": -2.5e3} )",
                  json::Limits(), doc, error))
      << error;
  const json::Value &root = doc.root();
  ASSERT_EQ(root.size(), 3u);
  std::vector<std::string> keys;
  for (const auto &[key, value] : root.members())
    keys.emplace_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "c\xc3\xa9", "d"}));
  ASSERT_TRUE(root.get("a"));
  EXPECT_EQ(root.get("a")->item(0).asUInt64(), 1u);
  EXPECT_TRUE(root.get("a")->item(1).get("b")->boolean);
  EXPECT_EQ(root.get("c\xc3\xa9")->kind, json::Value::Kind::Null);
  EXPECT_EQ(root.get("d")->text(), "-2.5e3");
  EXPECT_FALSE(root.get("d")->asUInt64());
  EXPECT_EQ(root.get("missing"), nullptr);

  EXPECT_FALSE(
      json::parse(R"({"k":1,"x":2,"k":3})", json::Limits(), doc, error));
  EXPECT_EQ(error, "duplicate key \"k\" at byte 13");
  // Keys are escaped in messages: no raw control bytes reach a terminal.
  EXPECT_FALSE(json::parse("{\"\\u001b[2J\\n\":1,\"\\u001b[2J\\n\":2}",
                           json::Limits(), doc, error));
  EXPECT_EQ(error, "duplicate key \"\\x1b[2J\\n\" at byte 17");
  EXPECT_FALSE(json::parse("[\x01]", json::Limits(), doc, error));
  EXPECT_EQ(error, "unexpected character '\\x01' at byte 1");
  json::Limits few;
  few.maxValues = 3;
  EXPECT_FALSE(json::parse("[1,2,3]", few, doc, error));
  EXPECT_EQ(error, "JSON has more than 3 values at byte 5");
}

} // namespace
