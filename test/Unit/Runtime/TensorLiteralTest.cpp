//===- TensorLiteralTest.cpp - Inline tensor values -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/TensorLiteral.h"

#include "nova/runtime/DType.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace nova::rt;

namespace {

HostTensor parse(const std::string &text, DType dtype,
                 std::vector<int64_t> shape) {
  HostTensor t;
  std::string error;
  EXPECT_TRUE(parseTensorLiteral(text, dtype, shape, t, error)) << error;
  return t;
}

std::string failure(const std::string &text, DType dtype,
                    std::vector<int64_t> shape) {
  HostTensor t;
  std::string error;
  EXPECT_FALSE(parseTensorLiteral(text, dtype, shape, t, error));
  return error;
}

TEST(TensorLiteralTest, LiteralOrFileName) {
  EXPECT_TRUE(isTensorLiteral("3"));
  EXPECT_TRUE(isTensorLiteral("1, -2.5,0x10,inf,nan,true"));
  EXPECT_TRUE(isTensorLiteral("2x2xi32=1,2,3,4"));
  EXPECT_TRUE(isTensorLiteral("f64=1")); // a type, if a wrong one
  EXPECT_FALSE(isTensorLiteral("x.npy"));
  EXPECT_FALSE(isTensorLiteral("dir/a=b"));
  EXPECT_FALSE(isTensorLiteral("a.b=1"));
  EXPECT_FALSE(isTensorLiteral("=1"));
  EXPECT_FALSE(isTensorLiteral(""));
  EXPECT_FALSE(isTensorLiteral("1,x"));
}

TEST(TensorLiteralTest, ValuesOfEveryDType) {
  HostTensor f = parse("2x2xf32=1,-2.5,0x1p-3,-inf", DType::F32, {2, 2});
  EXPECT_EQ(f.floatAt(0), 1.0);
  EXPECT_EQ(f.floatAt(1), -2.5);
  EXPECT_EQ(f.floatAt(2), 0.125);
  EXPECT_EQ(f.floatAt(3), -INFINITY);
  // Rounded to the dtype, nearest even: 0.1 in bf16 is 0.10009765625.
  EXPECT_EQ(parse("0.1", DType::BF16, {}).floatAt(0), 0.10009765625);
  EXPECT_TRUE(std::isnan(parse("nan", DType::F16, {}).floatAt(0)));
  EXPECT_TRUE(std::signbit(parse("-0", DType::F32, {}).floatAt(0)));
  HostTensor i = parse("-128, 127, 010", DType::I8, {3});
  EXPECT_EQ(i.intAt(0), -128);
  EXPECT_EQ(i.intAt(1), 127);
  EXPECT_EQ(i.intAt(2), 10); // decimal, not octal
  EXPECT_EQ(parse("-0x80000000", DType::I32, {}).intAt(0), INT32_MIN);
  EXPECT_EQ(parse("9223372036854775807", DType::I64, {}).intAt(0), INT64_MAX);
  HostTensor b = parse("true,false,1,0", DType::Bool, {4});
  EXPECT_EQ(b.intAt(0) + 2 * b.intAt(1) + 4 * b.intAt(2) + 8 * b.intAt(3), 5);
}

TEST(TensorLiteralTest, OneValueSetsEveryElement) {
  HostTensor t = parse("7", DType::I32, {2, 3});
  for (int64_t k = 0; k < 6; ++k)
    EXPECT_EQ(t.intAt(k), 7);
  EXPECT_EQ(parse("0", DType::F32, {0, 4}).numElements(), 0);
}

TEST(TensorLiteralTest, ErrorsNameTheValue) {
  EXPECT_EQ(failure("1,2,3", DType::F32, {2, 2}),
            "3 values for f32[2, 2] (4 elements; one value sets them all)");
  EXPECT_EQ(failure("3x2xf32=1", DType::F32, {2, 3}),
            "'3x2xf32' does not match f32[2, 3]");
  EXPECT_EQ(failure("2xi8=1,2", DType::I32, {2}),
            "'2xi8' does not match i32[2]");
  EXPECT_EQ(failure("2xq9=1", DType::I32, {2}),
            "unknown dtype 'q9' in '2xq9' (expected e.g. 2x3xf32)");
  EXPECT_EQ(failure("-1xi32=1", DType::I32, {2}),
            "dimension 0 of '-1xi32' is not a non-negative integer");
  EXPECT_EQ(failure("1,128", DType::I8, {2}),
            "value 1 ('128') is not in the range of i8");
  EXPECT_EQ(failure("99999999999999999999", DType::I64, {}),
            "value 0 ('99999999999999999999') is not an integer");
  EXPECT_EQ(failure("1.5", DType::I32, {}),
            "value 0 ('1.5') is not an integer");
  EXPECT_EQ(failure("2", DType::Bool, {}),
            "value 0 ('2') is not 0, 1, true or false");
  EXPECT_EQ(failure("1,\x1b[31m", DType::F32, {2}),
            "value 1 ('\\x1b[31m') is not a number");
  EXPECT_EQ(failure("1", DType::F32, {INT64_MAX, 2}),
            "the element count of [9223372036854775807, 2] overflows");
}

} // namespace
