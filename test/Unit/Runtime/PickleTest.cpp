//===- PickleTest.cpp - The restricted Grok-1 pickle reader ---------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Hand-assembled pickles: what NumPy emits is read; forbidden globals,
// unsupported opcodes and malformed streams are rejected with their byte
// offset; no prefix or corruption of a valid pickle crashes the reader.
// (test/Tools/nova-ckpt.test covers pickles written by CPython's pickler.)
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Pickle.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace nova::rt;

namespace {

/// A tiny pickle assembler for protocol 4 streams.
struct P {
  std::string b;
  P &op(uint8_t o) {
    b += static_cast<char>(o);
    return *this;
  }
  P &u(const std::string &s) { // SHORT_BINUNICODE
    op(0x8c).op(static_cast<uint8_t>(s.size()));
    b += s;
    return *this;
  }
  P &bytes(const std::string &s) { // BINBYTES
    op('B');
    for (int i = 0; i < 4; ++i)
      op(static_cast<uint8_t>(s.size() >> (8 * i)));
    b += s;
    return *this;
  }
  P &global(const std::string &m, const std::string &n) {
    return u(m).u(n).op(0x93);
  }
  P &i1(uint8_t v) { return op('K').op(v); }
  P &proto() { return op(0x80).op(4); }
  /// numpy.dtype(descr, False, True) with its BUILD state.
  P &dtype(const std::string &descr, const std::string &order = "<") {
    global("numpy", "dtype").u(descr).op(0x89).op(0x88).op(0x87).op('R');
    op('(').i1(3).u(order).op('N').op('N').op('N');
    op('J').op(0xff).op(0xff).op(0xff).op(0xff); // -1
    op('J').op(0xff).op(0xff).op(0xff).op(0xff); // -1
    i1(0).op('t').op('b');
    return *this;
  }
  /// _reconstruct(ndarray, (0,), b'b') + BUILD((1, shape, dtype, F, data)).
  P &array(const std::vector<int> &shape, const std::string &descr,
           const std::string &data, bool fortran = false) {
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray").i1(0).op(0x85).op('C').op(1).op('b');
    op(0x87).op('R');
    op('(').i1(1).op('(');
    for (int d : shape)
      i1(static_cast<uint8_t>(d));
    op('t');
    dtype(descr, descr == "i1" ? "|" : "<");
    op(fortran ? 0x88 : 0x89).bytes(data).op('t').op('b');
    return *this;
  }
  std::string stop() { return b + "."; }
};

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

bool read(const std::string &bytes, GrokTensor &out, std::string &error) {
  return readGrokPickle(reinterpret_cast<const uint8_t *>(bytes.data()),
                        bytes.size(), "t", out, error);
}

std::string errorOf(const std::string &bytes) {
  GrokTensor out;
  std::string error;
  EXPECT_FALSE(read(bytes, out, error));
  return error;
}

TEST(PickleTest, ReadsArraysAndRecords) {
  GrokTensor t;
  std::string error;
  ASSERT_TRUE(read(P().proto().array({2, 2}, "f4", floats({1, 2, 3, 4})).stop(),
                   t, error))
      << error;
  EXPECT_FALSE(t.quantized);
  EXPECT_EQ(t.value.describe(), "f32[2, 2]");
  EXPECT_EQ(t.value.floatAt(3), 4.0);
  // Column-major data comes out row-major: F-order [[1, 2], [3, 4]] is
  // stored 1, 3, 2, 4.
  ASSERT_TRUE(
      read(P().proto().array({2, 2}, "f4", floats({1, 3, 2, 4}), true).stop(),
           t, error))
      << error;
  EXPECT_EQ(t.value.floatAt(1), 2.0);
  EXPECT_EQ(t.value.floatAt(2), 3.0);

  // A QuantizedWeight8bit record: NEWOBJ + BUILD with its __dict__.
  P q;
  q.proto().global("__main__", "QuantizedWeight8bit").op(')').op(0x81);
  q.op('}').op('(').u("weight").array({3}, "i1",
                                      std::string("\x01\xff\x7f", 3));
  q.u("scales");
  q.global("numpy.core.multiarray", "_reconstruct");
  q.global("numpy", "ndarray").i1(0).op(0x85).op('C').op(1).op('b').op(0x87);
  q.op('R').op('(').i1(1).op('(').i1(1).op('t');
  q.global("numpy", "dtype").global("ml_dtypes", "bfloat16");
  q.op(0x89).op(0x88).op(0x87).op('R').op('(').i1(3).u("<").op('N').op('N');
  q.op('N').i1(2).i1(2).i1(0).op('t').op('b');
  q.op(0x89).bytes(std::string("\x80\x3f", 2)).op('t').op('b');
  q.op('u').op('b');
  ASSERT_TRUE(read(q.stop(), t, error)) << error;
  EXPECT_TRUE(t.quantized);
  EXPECT_EQ(t.value.describe(), "i8[3]");
  EXPECT_EQ(t.value.intAt(1), -1);
  EXPECT_EQ(t.scales.describe(), "bf16[1]");
  EXPECT_EQ(t.scales.floatAt(0), 1.0);
}

TEST(PickleTest, RejectsForbiddenGlobalsBeforeAnythingRuns) {
  // GLOBAL 'os system' as protocol 0-2 pickles name it.
  EXPECT_EQ(errorOf(std::string("\x80\x02"
                                "cos\nsystem\n"
                                "X\x02\0\0\0ls"
                                "\x85R.",
                                20)),
            "'t': byte 2: forbidden global 'os.system': a Grok-1 checkpoint "
            "holds only NumPy arrays and QuantizedWeight8bit records; "
            "refusing to unpickle");
  EXPECT_NE(errorOf(P().proto().global("builtins", "eval").stop())
                .find("forbidden global 'builtins.eval'"),
            std::string::npos);
  EXPECT_NE(errorOf(P().proto().global("posix", "system").stop())
                .find("forbidden global 'posix.system'"),
            std::string::npos);
  // NumPy's own module names with another attribute are not allowed either.
  EXPECT_NE(errorOf(P().proto().global("numpy", "load").stop())
                .find("forbidden global 'numpy.load'"),
            std::string::npos);
  // Allowed globals only as NumPy uses them.
  EXPECT_NE(
      errorOf(P().proto().global("numpy", "ndarray").op(')').op('R').stop())
          .find("calling 'numpy.ndarray' is not allowed"),
      std::string::npos);
  EXPECT_NE(errorOf(P().proto()
                        .global("numpy.core.multiarray", "_reconstruct")
                        .i1(1)
                        .i1(2)
                        .i1(3)
                        .op(0x87)
                        .op('R')
                        .stop())
                .find("_reconstruct is only allowed as"),
            std::string::npos);
  EXPECT_NE(errorOf(P().proto()
                        .global("__main__", "QuantizedWeight8bit")
                        .i1(1)
                        .op(0x85)
                        .op(0x81)
                        .stop())
                .find("NEWOBJ is only allowed for QuantizedWeight8bit()"),
            std::string::npos);
}

TEST(PickleTest, RejectsMalformedStreams) {
  std::string good = P().proto().array({2}, "f4", floats({1, 2})).stop();
  EXPECT_EQ(
      errorOf(P().proto().array({3}, "f4", floats({1, 2})).stop()),
      "'t': byte 133: array [3] of f4 needs 12 bytes, the pickle holds 8");
  EXPECT_NE(errorOf(P().proto().array({2}, "f8", floats({1, 2, 3, 4})).stop())
                .find("array dtype 'f8' is not one Nova loads"),
            std::string::npos);
  {
    P big;
    big.proto().array({2}, "f4", floats({1, 2}));
    std::string s = big.stop();
    size_t at = s.find("\x8c\x01<");
    ASSERT_NE(at, std::string::npos);
    s[at + 2] = '>';
    EXPECT_NE(errorOf(s).find("big-endian arrays are not supported"),
              std::string::npos);
  }
  EXPECT_EQ(errorOf(std::string("\x80\x06.", 3)),
            "'t': byte 0: pickle protocol 6 (supported: 2 to 5)");
  EXPECT_EQ(errorOf(good + "x"), "'t': byte " +
                                     std::to_string(good.size() - 1) +
                                     ": 1 trailing bytes after STOP");
  EXPECT_EQ(errorOf(P().proto().i1(5).stop()),
            "'t': the pickle holds a int, expected a NumPy array or a "
            "QuantizedWeight8bit");
  EXPECT_EQ(errorOf(P().proto().op('i').stop()),
            "'t': byte 2: unsupported pickle opcode 0x69 ('i')");
  EXPECT_EQ(errorOf(P().proto().op('h').op(7).stop()),
            "'t': byte 2: memo entry 7 was never stored");
  EXPECT_EQ(errorOf(P().proto().op('R').stop()),
            "'t': byte 2: stack underflow");
  EXPECT_EQ(errorOf(P().proto().op(0x97).stop()),
            "'t': byte 2: out-of-band buffers are not supported");
  // A length far past the end is refused before anything is allocated.
  EXPECT_EQ(
      errorOf(std::string("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x0f", 11)),
      "'t': byte 2: truncated: needs 1152921504606846975 more bytes, 0 "
      "remain");
  GrokTensor out;
  std::string error;
  PickleLimits tight;
  tight.maxStack = 8;
  std::string marks = P().proto().stop();
  marks.insert(2, std::string(20, '('));
  EXPECT_FALSE(readGrokPickle(reinterpret_cast<const uint8_t *>(marks.data()),
                              marks.size(), "t", out, error, tight));
  EXPECT_EQ(error, "'t': byte 10: too many MARKs");
}

bool readWith(const std::string &bytes, const PickleLimits &limits,
              std::string &error) {
  GrokTensor out;
  return readGrokPickle(reinterpret_cast<const uint8_t *>(bytes.data()),
                        bytes.size(), "t", out, error, limits);
}

TEST(PickleTest, DeepNestingIsCappedAndFreedWithoutRecursion) {
  // A million nested 1-tuples (None, then TUPLE1 a million times): the cap
  // stops it at the 65th level...
  std::string tuples =
      P().proto().op('N').b + std::string(1'000'000, '\x85') + ".";
  EXPECT_EQ(errorOf(tuples), "'t': byte 66: objects nested deeper than 64 "
                             "levels");
  // ...and with the caps lifted, the clean error is built and the million
  // levels are freed without recursing (this used to overflow the stack in
  // the destructor, after the error).
  PickleLimits lifted;
  lifted.maxDepth = 2'000'000;
  lifted.maxObjects = 2'000'000;
  std::string error;
  EXPECT_FALSE(readWith(tuples, lifted, error));
  EXPECT_EQ(error, "'t': the pickle holds a tuple, expected a NumPy array or "
                   "a QuantizedWeight8bit");
  // Lists nested through the stack: EMPTY_LIST 60000 times, then APPEND.
  std::string lists =
      P().proto().b + std::string(60'000, ']') + std::string(59'999, 'a') + ".";
  EXPECT_EQ(errorOf(lists).substr(0, 15), "'t': byte 60065");
  EXPECT_FALSE(readWith(lists, lifted, error));
  EXPECT_EQ(error, "'t': the pickle holds a list, expected a NumPy array or "
                   "a QuantizedWeight8bit");
}

TEST(PickleTest, CyclesAreRefusedAndNothingLeaks) {
  // l = []; l.append(l): EMPTY_LIST, MEMOIZE, BINGET 0, APPEND. With
  // reference-counted objects this cycle leaked (LeakSanitizer); objects are
  // now owned by the unpickler, and a container may not change once it is
  // inside another object, so no object can come to contain itself.
  EXPECT_EQ(errorOf(P().proto().op(']').op(0x94).op('h').op(0).op('a').stop()),
            "'t': byte 6: a list is changed after it was put into another "
            "object (recursive structures are not supported)");
  // d = {}; d[1] = d.
  EXPECT_EQ(
      errorOf(P().proto().op('}').op(0x94).i1(1).op('h').op(0).op('s').stop()),
      "'t': byte 8: a dict is changed after it was put into another "
      "object (recursive structures are not supported)");
  // a = []; b = []; a.append(b); b.append(a): the cycle through the memo.
  EXPECT_EQ(errorOf(P().proto()
                        .op(']')
                        .op(0x94)
                        .op(']')
                        .op(0x94)
                        .op('a')
                        .op('h')
                        .op(1)
                        .op('h')
                        .op(0)
                        .op('a')
                        .stop()),
            "'t': byte 11: a list is changed after it was put into another "
            "object (recursive structures are not supported)");
  // A DAG (one object in two places) is fine: NumPy pickles share dtypes.
  EXPECT_EQ(errorOf(P().proto()
                        .op(']')
                        .op(']')
                        .op(0x94)
                        .op('a')
                        .op('h')
                        .op(0)
                        .op('a')
                        .stop()),
            "'t': the pickle holds a list, expected a NumPy array or a "
            "QuantizedWeight8bit");
}

TEST(PickleTest, ObjectCountIsCapped) {
  // Each object costs far more memory than its opcode byte: a pickle may
  // create at most maxObjects of them.
  std::string many = P().proto().op(']').b;
  for (int i = 0; i < 70'000; ++i)
    many += "Na";
  EXPECT_EQ(errorOf(many + "."), "'t': byte " + std::to_string(3 + 2 * 65'535) +
                                     ": more than 65536 objects");
}

TEST(PickleTest, NamesInMessagesAreEscaped) {
  EXPECT_EQ(errorOf(P().proto().global("os\n", "system\x1b[2J").stop()),
            "'t': byte 19: forbidden global 'os\\n.system\\x1b[2J': a "
            "Grok-1 checkpoint holds only NumPy arrays and "
            "QuantizedWeight8bit records; refusing to unpickle");
}

TEST(PickleTest, NoPrefixOrCorruptionCrashes) {
  P q;
  q.proto().array({2, 3}, "f4", floats({1, 2, 3, 4, 5, 6}));
  std::string good = q.stop();
  GrokTensor out;
  std::string error;
  ASSERT_TRUE(read(good, out, error)) << error;
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(read(good.substr(0, n), out, error)) << n;
  std::mt19937 rng(1);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s = good;
    for (int k = 0; k < 3; ++k)
      s[rng() % s.size()] = static_cast<char>(rng());
    error.clear();
    if (read(s, out, error))
      ++accepted; // a flip inside the data bytes is still a valid array
    else
      EXPECT_FALSE(error.empty());
  }
  EXPECT_LT(accepted, 20000);
}

} // namespace
