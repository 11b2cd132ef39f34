//===- Pickle.cpp - A restricted reader for Grok-1's checkpoint pickles ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Opcode semantics follow CPython's Lib/pickle.py (protocols 2-5). Objects
// are plain data here; "calling" a global means building the NumPy array,
// dtype or record it would construct, and only for the handful of globals
// a Grok-1 checkpoint names.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Pickle.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/Text.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

using namespace nova::rt;

namespace {

/// The callables a Grok-1 checkpoint pickle may name.
enum class Callable {
  Reconstruct, // numpy.core.multiarray._reconstruct
  FromBuffer,  // numpy.core.numeric._frombuffer (protocol 5)
  NdArray,     // numpy.ndarray
  DTypeCtor,   // numpy.dtype
  BFloat16,    // ml_dtypes.bfloat16 (a scalar type used as a dtype)
  Record,      // QuantizedWeight8bit
  Encode,      // _codecs.encode (protocol 2 bytes)
};

struct AllowedGlobal {
  const char *module, *name;
  Callable callable;
};

const AllowedGlobal kAllowed[] = {
    {"numpy.core.multiarray", "_reconstruct", Callable::Reconstruct},
    {"numpy._core.multiarray", "_reconstruct", Callable::Reconstruct},
    {"numpy.core.numeric", "_frombuffer", Callable::FromBuffer},
    {"numpy._core.numeric", "_frombuffer", Callable::FromBuffer},
    {"numpy", "ndarray", Callable::NdArray},
    {"numpy", "dtype", Callable::DTypeCtor},
    {"ml_dtypes", "bfloat16", Callable::BFloat16},
    {"__main__", "QuantizedWeight8bit", Callable::Record},
    {"model", "QuantizedWeight8bit", Callable::Record},
    {"_codecs", "encode", Callable::Encode},
};

struct Obj;
/// Objects are owned by their unpickler's arena (see Unpickler::make):
/// references between them own nothing, so destroying any object graph,
/// however deep or cyclic, is one flat loop and frees everything.
using Ref = Obj *;

struct Obj {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    Tuple,
    List,
    Dict,
    Global,
    Array,
    DTypeObj,
    Record,
  };
  Kind kind = Kind::None;
  int64_t integer = 0;
  double real = 0;
  std::string text; // Str, Global (module.name)
  /// Bytes: a view into the pickle itself (no copy of GB-sized weights) or
  /// into `owned`; Array: its data, likewise (or into `dataOwner`).
  std::string_view bytes;
  std::string owned;
  Ref dataOwner = nullptr;
  std::vector<Ref> items;
  std::vector<std::pair<Ref, Ref>> entries;
  Callable callable = Callable::Encode;
  // Array: dtype, shape, data; built once BUILD gave its state.
  std::optional<DType> dtype;
  std::string dtypeText; // NumPy's descr ("f4", "bfloat16", ...)
  char byteOrder = '<';
  std::vector<int64_t> shape;
  bool fortran = false;
  bool built = false;
  // Record fields.
  std::map<std::string, Ref> fields;
  /// Levels of objects below and including this one.
  unsigned depth = 1;
  /// Put into another object: from then on it must not change (so depths
  /// stay exact and no object can come to contain itself).
  bool sealed = false;
};

const char *kindName(Obj::Kind kind) {
  switch (kind) {
  case Obj::Kind::None:
    return "None";
  case Obj::Kind::Bool:
    return "bool";
  case Obj::Kind::Int:
    return "int";
  case Obj::Kind::Float:
    return "float";
  case Obj::Kind::Str:
    return "str";
  case Obj::Kind::Bytes:
    return "bytes";
  case Obj::Kind::Tuple:
    return "tuple";
  case Obj::Kind::List:
    return "list";
  case Obj::Kind::Dict:
    return "dict";
  case Obj::Kind::Global:
    return "global";
  case Obj::Kind::Array:
    return "ndarray";
  case Obj::Kind::DTypeObj:
    return "dtype";
  case Obj::Kind::Record:
    return "QuantizedWeight8bit";
  }
  return "?";
}

/// NumPy dtype strings (without byte order) Nova loads.
std::optional<DType> numpyDType(const std::string &descr) {
  if (descr == "f4" || descr == "float32")
    return DType::F32;
  if (descr == "f2" || descr == "float16")
    return DType::F16;
  if (descr == "i1" || descr == "int8")
    return DType::I8;
  if (descr == "i4" || descr == "int32")
    return DType::I32;
  if (descr == "i8" || descr == "int64")
    return DType::I64;
  if (descr == "b1" || descr == "bool")
    return DType::Bool;
  if (descr == "bfloat16")
    return DType::BF16;
  return std::nullopt;
}

class Unpickler {
public:
  Unpickler(const uint8_t *data, size_t size, const PickleLimits &limits)
      : p(data), size(size), limits(limits) {}

  bool run(Ref &result, std::string &error);

private:
  bool fail(const std::string &message) {
    if (err.empty())
      err = "byte " + std::to_string(opStart) + ": " + message;
    return false;
  }
  bool need(uint64_t n) {
    if (n > size - pos)
      return fail("truncated: needs " + std::to_string(n) + " more bytes, " +
                  std::to_string(size - pos) + " remain");
    return true;
  }
  uint64_t readLE(unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(p[pos + i]) << (8 * i);
    pos += n;
    return v;
  }
  bool readLength(unsigned width, uint64_t &n) {
    if (!need(width))
      return false;
    n = readLE(width);
    return need(n);
  }
  bool readLine(std::string &line) {
    const void *nl = std::memchr(p + pos, '\n', size - pos);
    if (!nl)
      return fail("truncated: no end of line");
    size_t end = static_cast<const uint8_t *>(nl) - p;
    line.assign(reinterpret_cast<const char *>(p + pos), end - pos);
    pos = end + 1;
    return true;
  }
  /// A new object in the arena, or nullptr (and `err`) past maxObjects.
  Ref make(Obj::Kind kind) {
    if (arena.size() >= limits.maxObjects) {
      fail("more than " + std::to_string(limits.maxObjects) + " objects");
      return nullptr;
    }
    arena.emplace_back();
    arena.back().kind = kind;
    return &arena.back();
  }
  /// Puts `item` into `container` (an item, key, value or field): `item`
  /// is sealed, `container` must not be, and nesting stays within
  /// maxDepth.
  bool adopt(Obj &container, Obj &item) {
    item.sealed = true;
    if (container.sealed)
      return fail(std::string("a ") + kindName(container.kind) +
                  " is changed after it was put into another object "
                  "(recursive structures are not supported)");
    container.depth = std::max(container.depth, item.depth + 1);
    if (container.depth > limits.maxDepth)
      return fail("objects nested deeper than " +
                  std::to_string(limits.maxDepth) + " levels");
    return true;
  }
  bool push(Ref o) {
    if (!o)
      return false;
    if (stack.size() >= limits.maxStack)
      return fail("stack deeper than " + std::to_string(limits.maxStack));
    stack.push_back(std::move(o));
    return true;
  }
  bool pop(Ref &o) {
    if (stack.size() <= markBase())
      return fail("stack underflow");
    o = std::move(stack.back());
    stack.pop_back();
    return true;
  }
  size_t markBase() const { return marks.empty() ? 0 : marks.back(); }
  bool popMark(std::vector<Ref> &items) {
    if (marks.empty())
      return fail("no MARK on the stack");
    size_t base = marks.back();
    marks.pop_back();
    items.assign(stack.begin() + base, stack.end());
    stack.resize(base);
    return true;
  }
  bool memoize(uint64_t index) {
    if (stack.size() <= markBase())
      return fail("memoizing an empty stack");
    if (index >= limits.maxMemo)
      return fail("memo index " + std::to_string(index) + " exceeds " +
                  std::to_string(limits.maxMemo));
    memo[index] = stack.back();
    return true;
  }
  bool fetch(uint64_t index) {
    auto it = memo.find(index);
    if (it == memo.end())
      return fail("memo entry " + std::to_string(index) + " was never stored");
    return push(it->second);
  }
  bool global(const std::string &module, const std::string &name) {
    for (const AllowedGlobal &g : kAllowed)
      if (module == g.module && name == g.name) {
        Ref o = make(Obj::Kind::Global);
        if (!o)
          return false;
        o->text = module + "." + name;
        o->callable = g.callable;
        return push(o);
      }
    return fail("forbidden global '" + printable(module + "." + name) +
                "': a Grok-1 checkpoint holds only NumPy arrays and "
                "QuantizedWeight8bit records; refusing to unpickle");
  }
  /// One opcode group's handler, given the opcode (its byte is consumed);
  /// false with `err` set on failure.
  using Handler = bool (Unpickler::*)(uint8_t op);
  static const std::array<Handler, 256> &handlers();
  bool opFraming(uint8_t op);
  bool opGlobal(uint8_t op);
  bool opString(uint8_t op);
  bool opMemo(uint8_t op);
  bool opTuple(uint8_t op);
  bool opList(uint8_t op);
  bool opDict(uint8_t op);
  bool opInt(uint8_t op);
  bool opScalar(uint8_t op);
  bool opObject(uint8_t op);
  bool opStop(uint8_t op);
  bool opUnsupported(uint8_t op);

  bool reduce(const Ref &fn, const Ref &args);
  bool build(const Ref &obj, const Ref &state);
  bool finishArray(Obj &array);
  bool dtypeOf(const Ref &o, Obj &array);

  const uint8_t *p;
  size_t size;
  size_t pos = 0, opStart = 0;
  const PickleLimits &limits;
  std::vector<Ref> stack;
  std::vector<size_t> marks;
  std::map<uint64_t, Ref> memo;
  /// Every object of this unpickling (a deque: addresses are stable).
  std::deque<Obj> arena;
  std::string err;
  /// STOP's value, once `stopped`.
  Ref value;
  bool stopped = false;
};

bool Unpickler::dtypeOf(const Ref &o, Obj &array) {
  if (o->kind != Obj::Kind::DTypeObj)
    return fail(std::string("expected a dtype, got ") + kindName(o->kind));
  array.dtype = o->dtype;
  array.dtypeText = o->dtypeText;
  array.byteOrder = o->byteOrder;
  return true;
}

bool Unpickler::reduce(const Ref &fn, const Ref &args) {
  if (fn->kind != Obj::Kind::Global)
    return fail(std::string("REDUCE calls a ") + kindName(fn->kind) +
                ", not an allowed global");
  if (args->kind != Obj::Kind::Tuple)
    return fail("REDUCE arguments are not a tuple");
  const std::vector<Ref> &a = args->items;
  auto is = [&](size_t i, Obj::Kind k) {
    return i < a.size() && a[i]->kind == k;
  };
  switch (fn->callable) {
  case Callable::Reconstruct: {
    // _reconstruct(ndarray, (0,), b'b'): an empty array BUILD fills in.
    if (a.size() != 3 || a[0]->kind != Obj::Kind::Global ||
        a[0]->callable != Callable::NdArray)
      return fail("_reconstruct is only allowed as _reconstruct(ndarray, "
                  "shape, typecode)");
    return push(make(Obj::Kind::Array));
  }
  case Callable::FromBuffer: {
    // _frombuffer(buffer, dtype, shape, order)
    if (a.size() != 4 || !is(0, Obj::Kind::Bytes) || !is(2, Obj::Kind::Tuple) ||
        !is(3, Obj::Kind::Str))
      return fail("_frombuffer expects (bytes, dtype, shape, order)");
    Ref array = make(Obj::Kind::Array);
    if (!array || !dtypeOf(a[1], *array))
      return false;
    for (const Ref &d : a[2]->items) {
      if (d->kind != Obj::Kind::Int || d->integer < 0)
        return fail("array shape entries must be non-negative integers");
      array->shape.push_back(d->integer);
    }
    if (a[3]->text != "C" && a[3]->text != "F")
      return fail("array order must be 'C' or 'F', got '" +
                  printable(a[3]->text) + "'");
    array->fortran = a[3]->text == "F";
    array->bytes = a[0]->bytes;
    array->dataOwner = a[0];
    if (!finishArray(*array))
      return false;
    return push(array);
  }
  case Callable::DTypeCtor: {
    // dtype(descr, align, copy); descr is a string or a registered scalar
    // type (ml_dtypes.bfloat16).
    if (a.size() != 3)
      return fail("numpy.dtype expects 3 arguments");
    Ref d = make(Obj::Kind::DTypeObj);
    if (!d)
      return false;
    if (a[0]->kind == Obj::Kind::Global &&
        a[0]->callable == Callable::BFloat16) {
      d->dtypeText = "bfloat16";
    } else if (a[0]->kind == Obj::Kind::Str) {
      d->dtypeText = a[0]->text;
      if (!d->dtypeText.empty() &&
          std::strchr("<>|=", d->dtypeText[0]) != nullptr) {
        d->byteOrder = d->dtypeText[0];
        d->dtypeText.erase(0, 1);
      }
    } else {
      return fail("numpy.dtype of a " + std::string(kindName(a[0]->kind)));
    }
    d->dtype = numpyDType(d->dtypeText);
    return push(d);
  }
  case Callable::Encode: {
    // Protocol 2 writes bytes as _codecs.encode(latin-1 text, 'latin1').
    if (a.size() != 2 || !is(0, Obj::Kind::Str) || !is(1, Obj::Kind::Str) ||
        (a[1]->text != "latin1" && a[1]->text != "latin-1"))
      return fail("_codecs.encode is only allowed as encode(text, 'latin1')");
    Ref bytes = make(Obj::Kind::Bytes);
    if (!bytes)
      return false;
    // The text is UTF-8 of code points < 256: decode to raw bytes.
    const std::string &t = a[0]->text;
    for (size_t i = 0; i < t.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(t[i]);
      if (c < 0x80) {
        bytes->owned += static_cast<char>(c);
      } else if ((c == 0xC2 || c == 0xC3) && i + 1 < t.size()) {
        bytes->owned +=
            static_cast<char>(((c & 0x03) << 6) | (t[i + 1] & 0x3F));
        ++i;
      } else {
        return fail("_codecs.encode text is not latin-1");
      }
    }
    bytes->bytes = bytes->owned;
    return push(bytes);
  }
  case Callable::NdArray:
  case Callable::BFloat16:
  case Callable::Record:
    return fail("calling '" + fn->text + "' is not allowed");
  }
  return fail("unreachable");
}

bool Unpickler::finishArray(Obj &array) {
  if (array.shape.size() > limits.maxRank)
    return fail("array rank " + std::to_string(array.shape.size()) +
                " exceeds " + std::to_string(limits.maxRank));
  if (!array.dtype)
    return fail("array dtype '" + printable(array.dtypeText) +
                "' is not one Nova loads (f4, f2, bfloat16, i1, i4, i8, b1)");
  if (array.byteOrder == '>' && dtypeSize(*array.dtype) > 1)
    return fail("big-endian arrays are not supported");
  uint64_t es = dtypeSize(*array.dtype);
  std::optional<int64_t> bytes =
      checkedByteSize(array.shape, static_cast<int64_t>(es));
  if (!bytes)
    return fail("array shape " + formatShape(array.shape) + " of " +
                printable(array.dtypeText) + " overflows 64 bits");
  uint64_t elements = static_cast<uint64_t>(*bytes) / es;
  if (static_cast<uint64_t>(*bytes) != array.bytes.size())
    return fail("array " + formatShape(array.shape) + " of " +
                printable(array.dtypeText) + " needs " +
                std::to_string(*bytes) + " bytes, the pickle holds " +
                std::to_string(array.bytes.size()));
  if (array.fortran && array.shape.size() > 1) {
    // Column-major to row-major.
    std::string c(array.bytes.size(), '\0');
    size_t rank = array.shape.size();
    std::vector<int64_t> idx(rank, 0);
    for (uint64_t i = 0; i < elements; ++i) {
      // i walks the row-major order; its column-major offset:
      uint64_t f = 0, stride = 1;
      for (size_t d = 0; d < rank; ++d) {
        f += static_cast<uint64_t>(idx[d]) * stride;
        stride *= static_cast<uint64_t>(array.shape[d]);
      }
      std::memcpy(&c[i * es], &array.bytes[f * es], es);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < array.shape[d])
          break;
        idx[d] = 0;
      }
    }
    array.owned = std::move(c);
    array.bytes = array.owned;
    array.dataOwner = nullptr;
    array.fortran = false;
  }
  array.built = true;
  return true;
}

bool Unpickler::build(const Ref &obj, const Ref &state) {
  if (obj->sealed)
    return fail(std::string("BUILD changes a ") + kindName(obj->kind) +
                " after it was put into another object");
  switch (obj->kind) {
  case Obj::Kind::Array: {
    // ndarray.__setstate__((version, shape, dtype, is_fortran, data))
    if (obj->built)
      return fail("array state given twice");
    if (state->kind != Obj::Kind::Tuple || state->items.size() != 5)
      return fail("array state is not a 5-tuple");
    const std::vector<Ref> &s = state->items;
    if (s[1]->kind != Obj::Kind::Tuple)
      return fail("array shape is not a tuple");
    for (const Ref &d : s[1]->items) {
      if (d->kind != Obj::Kind::Int || d->integer < 0)
        return fail("array shape entries must be non-negative integers");
      obj->shape.push_back(d->integer);
    }
    if (!dtypeOf(s[2], *obj))
      return false;
    if (s[3]->kind != Obj::Kind::Bool)
      return fail("array is_fortran flag is not a bool");
    obj->fortran = s[3]->integer != 0;
    if (s[4]->kind == Obj::Kind::Bytes) {
      obj->bytes = s[4]->bytes;
      obj->dataOwner = s[4];
    } else if (s[4]->kind == Obj::Kind::Str) // protocol 2's latin-1 text
      return fail("array data as text is not supported; re-pickle with "
                  "protocol 3 or later");
    else
      return fail(std::string("array data is a ") + kindName(s[4]->kind) +
                  " (object arrays are not supported)");
    return finishArray(*obj);
  }
  case Obj::Kind::DTypeObj: {
    // dtype.__setstate__((version, byteorder, subarray, names, fields,
    // elsize, alignment, flags[, metadata])): plain dtypes only.
    if (state->kind != Obj::Kind::Tuple || state->items.size() < 8)
      return fail("dtype state is not a tuple of 8 or 9 entries");
    const std::vector<Ref> &s = state->items;
    if (s[1]->kind != Obj::Kind::Str || s[1]->text.size() != 1)
      return fail("dtype byte order is not a one-character string");
    for (int i : {2, 3, 4})
      if (s[i]->kind != Obj::Kind::None)
        return fail("structured or sub-array dtypes are not supported");
    obj->byteOrder = s[1]->text[0];
    return true;
  }
  case Obj::Kind::Record: {
    // A dataclass: state is its __dict__ (or (None, slots) with slots).
    Ref dict = state;
    if (dict->kind == Obj::Kind::Tuple && dict->items.size() == 2 &&
        dict->items[0]->kind == Obj::Kind::None)
      dict = dict->items[1];
    if (dict->kind != Obj::Kind::Dict)
      return fail("QuantizedWeight8bit state is not a dict");
    for (const auto &[k, v] : dict->entries) {
      if (k->kind != Obj::Kind::Str)
        return fail("QuantizedWeight8bit field name is not a string");
      if (k->text != "weight" && k->text != "scales")
        return fail("QuantizedWeight8bit has an unexpected field '" +
                    printable(k->text) + "'");
      if (v->kind != Obj::Kind::Array || !v->built)
        return fail("QuantizedWeight8bit field '" + k->text +
                    "' is not an array");
      if (!adopt(*obj, *v))
        return false;
      obj->fields[k->text] = v;
    }
    return true;
  }
  default:
    return fail(std::string("BUILD on a ") + kindName(obj->kind));
  }
}

//===----------------------------------------------------------------------===//
// Opcodes, one handler per group (CPython's Lib/pickle.py names them)
//===----------------------------------------------------------------------===//

bool Unpickler::opFraming(uint8_t op) {
  if (op == 0x95) { // FRAME: a length hint; the content follows inline.
    if (!need(8))
      return false;
    pos += 8;
    return true;
  }
  // PROTO
  if (!need(1))
    return false;
  if (p[pos] < 2 || p[pos] > 5)
    return fail("pickle protocol " + std::to_string(p[pos]) +
                " (supported: 2 to 5)");
  ++pos;
  return true;
}

bool Unpickler::opGlobal(uint8_t op) {
  if (op == 'c') { // GLOBAL
    std::string module, name;
    return readLine(module) && readLine(name) && global(module, name);
  }
  // STACK_GLOBAL
  Ref module, name;
  if (!pop(name) || !pop(module))
    return false;
  if (module->kind != Obj::Kind::Str || name->kind != Obj::Kind::Str)
    return fail("STACK_GLOBAL needs two strings");
  return global(module->text, name->text);
}

/// SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING,
/// SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8.
bool Unpickler::opString(uint8_t op) {
  unsigned width = (op == 0x8c || op == 'U' || op == 'C')  ? 1
                   : (op == 'X' || op == 'T' || op == 'B') ? 4
                                                           : 8;
  uint64_t n = 0;
  if (!readLength(width, n))
    return false;
  bool text = op == 0x8c || op == 'X' || op == 0x8d || op == 'U' || op == 'T';
  Ref s = make(text ? Obj::Kind::Str : Obj::Kind::Bytes);
  if (!s)
    return false;
  if (text)
    s->text.assign(reinterpret_cast<const char *>(p + pos), n);
  else
    s->bytes = std::string_view(reinterpret_cast<const char *>(p + pos), n);
  pos += n;
  return push(s);
}

/// MEMOIZE, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET.
bool Unpickler::opMemo(uint8_t op) {
  if (op == 0x94) // MEMOIZE
    return memoize(memo.size());
  unsigned width = op == 'q' || op == 'h' ? 1 : 4;
  if (!need(width))
    return false;
  uint64_t index = readLE(width);
  return op == 'q' || op == 'r' ? memoize(index) : fetch(index);
}

/// MARK, TUPLE, EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3.
bool Unpickler::opTuple(uint8_t op) {
  if (op == '(') { // MARK
    if (marks.size() >= limits.maxStack)
      return fail("too many MARKs");
    marks.push_back(stack.size());
    return true;
  }
  Ref t = make(Obj::Kind::Tuple);
  if (!t)
    return false;
  if (op == 't') { // TUPLE
    if (!popMark(t->items))
      return false;
  } else if (op != ')') { // TUPLE1, TUPLE2, TUPLE3 (not EMPTY_TUPLE)
    size_t count = op - 0x84;
    if (stack.size() < markBase() + count)
      return fail("stack underflow");
    t->items.assign(stack.end() - count, stack.end());
    stack.resize(stack.size() - count);
  }
  for (Ref item : t->items)
    if (!adopt(*t, *item))
      return false;
  return push(t);
}

/// EMPTY_LIST, APPEND, APPENDS.
bool Unpickler::opList(uint8_t op) {
  if (op == ']') // EMPTY_LIST
    return push(make(Obj::Kind::List));
  std::vector<Ref> items(1);
  if (op == 'a' ? !pop(items[0]) : !popMark(items))
    return false;
  if (stack.size() <= markBase() || stack.back()->kind != Obj::Kind::List)
    return fail(op == 'a' ? "APPEND to a non-list" : "APPENDS to a non-list");
  for (Ref i : items) {
    if (!adopt(*stack.back(), *i))
      return false;
    stack.back()->items.push_back(i);
  }
  return true;
}

/// EMPTY_DICT, SETITEM, SETITEMS.
bool Unpickler::opDict(uint8_t op) {
  if (op == '}') // EMPTY_DICT
    return push(make(Obj::Kind::Dict));
  std::vector<Ref> items(2);
  if (op == 's') {
    if (!pop(items[1]) || !pop(items[0]))
      return false;
  } else {
    if (!popMark(items))
      return false;
    if (items.size() % 2)
      return fail("SETITEMS with an odd number of items");
  }
  if (stack.size() <= markBase() || stack.back()->kind != Obj::Kind::Dict)
    return fail(op == 's' ? "SETITEM on a non-dict" : "SETITEMS on a non-dict");
  for (size_t i = 0; i < items.size(); i += 2) {
    if (!adopt(*stack.back(), *items[i]) ||
        !adopt(*stack.back(), *items[i + 1]))
      return false;
    stack.back()->entries.push_back({items[i], items[i + 1]});
  }
  return true;
}

/// BININT, BININT1, BININT2, LONG1.
bool Unpickler::opInt(uint8_t op) {
  Ref i = make(Obj::Kind::Int);
  if (!i)
    return false;
  if (op != 0x8a) {
    unsigned width = op == 'J' ? 4 : op == 'K' ? 1 : 2;
    if (!need(width))
      return false;
    uint64_t v = readLE(width);
    i->integer = op == 'J' ? static_cast<int32_t>(v) : static_cast<int64_t>(v);
    return push(i);
  }
  // LONG1
  if (!need(1))
    return false;
  unsigned width = p[pos++];
  if (width > 8)
    return fail("integer wider than 64 bits");
  if (!need(width))
    return false;
  uint64_t v = readLE(width);
  if (width && width < 8 && (v >> (8 * width - 1)) & 1)
    v |= ~uint64_t(0) << (8 * width); // sign-extend
  i->integer = static_cast<int64_t>(v);
  return push(i);
}

/// BINFLOAT, NONE, NEWTRUE, NEWFALSE.
bool Unpickler::opScalar(uint8_t op) {
  if (op == 'N') // NONE
    return push(make(Obj::Kind::None));
  if (op == 0x88 || op == 0x89) { // NEWTRUE, NEWFALSE
    Ref t = make(Obj::Kind::Bool);
    if (!t)
      return false;
    t->integer = op == 0x88;
    return push(t);
  }
  // BINFLOAT (big-endian)
  if (!need(8))
    return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[pos + i];
  pos += 8;
  Ref f = make(Obj::Kind::Float);
  if (!f)
    return false;
  std::memcpy(&f->real, &v, 8);
  return push(f);
}

/// REDUCE, NEWOBJ, BUILD.
bool Unpickler::opObject(uint8_t op) {
  Ref a, b;
  if (op == 'R') // REDUCE
    return pop(b) && pop(a) && reduce(a, b);
  if (op == 0x81) { // NEWOBJ: cls.__new__(cls, *args)
    if (!pop(b) || !pop(a))
      return false;
    if (a->kind != Obj::Kind::Global || a->callable != Callable::Record ||
        b->kind != Obj::Kind::Tuple || !b->items.empty())
      return fail("NEWOBJ is only allowed for QuantizedWeight8bit()");
    return push(make(Obj::Kind::Record));
  }
  // BUILD
  if (!pop(b))
    return false;
  if (stack.size() <= markBase())
    return fail("BUILD without an object");
  return build(stack.back(), b);
}

bool Unpickler::opStop(uint8_t) {
  if (stack.size() != 1 || !marks.empty())
    return fail("STOP with " + std::to_string(stack.size()) +
                " values on the stack (expected 1)");
  if (pos != size)
    return fail(std::to_string(size - pos) + " trailing bytes after STOP");
  value = stack.back();
  stopped = true;
  return true;
}

bool Unpickler::opUnsupported(uint8_t op) {
  if (op == 0x97 || op == 0x98) // NEXT_BUFFER, READONLY_BUFFER
    return fail("out-of-band buffers are not supported");
  char buf[64];
  std::snprintf(buf, sizeof(buf), "unsupported pickle opcode 0x%02x", op);
  std::string message = buf;
  if (op >= 0x20 && op < 0x7f)
    message += std::string(" ('") + static_cast<char>(op) + "')";
  return fail(message);
}

const std::array<Unpickler::Handler, 256> &Unpickler::handlers() {
  static const std::array<Handler, 256> table = [] {
    std::array<Handler, 256> t;
    t.fill(&Unpickler::opUnsupported);
    auto set = [&](Handler h, std::initializer_list<uint8_t> ops) {
      for (uint8_t op : ops)
        t[op] = h;
    };
    set(&Unpickler::opFraming, {0x80, 0x95});
    set(&Unpickler::opGlobal, {'c', 0x93});
    set(&Unpickler::opString,
        {0x8c, 'X', 0x8d, 'U', 'T', 'C', 'B', 0x8e, 0x96});
    set(&Unpickler::opMemo, {0x94, 'q', 'r', 'h', 'j'});
    set(&Unpickler::opTuple, {'(', 't', ')', 0x85, 0x86, 0x87});
    set(&Unpickler::opList, {']', 'a', 'e'});
    set(&Unpickler::opDict, {'}', 's', 'u'});
    set(&Unpickler::opInt, {'J', 'K', 'M', 0x8a});
    set(&Unpickler::opScalar, {'G', 'N', 0x88, 0x89});
    set(&Unpickler::opObject, {'R', 0x81, 'b'});
    set(&Unpickler::opStop, {'.'});
    return t;
  }();
  return table;
}

bool Unpickler::run(Ref &result, std::string &error) {
  const std::array<Handler, 256> &table = handlers();
  while (!stopped) {
    opStart = pos;
    bool ok;
    if (pos >= size) {
      ok = fail("truncated: no STOP opcode");
    } else {
      uint8_t op = p[pos++];
      ok = (this->*table[op])(op);
    }
    if (!ok) {
      error = err;
      return false;
    }
  }
  result = value;
  return true;
}

bool toTensor(const Obj &array, HostTensor &out) {
  out = HostTensor::uninitialized(*array.dtype, array.shape);
  if (out.empty())
    return false;
  std::memcpy(out.mutableBytes(), array.bytes.data(), array.bytes.size());
  return true;
}

} // namespace

bool nova::rt::readGrokPickle(const uint8_t *data, size_t size,
                              const std::string &fileName, GrokTensor &out,
                              std::string &error, const PickleLimits &limits) {
  Unpickler unpickler(data, size, limits);
  Ref result;
  std::string message;
  if (!unpickler.run(result, message)) {
    error = "'" + fileName + "': " + message;
    return false;
  }
  auto oom = [&] {
    error = "'" + fileName + "': out of memory";
    return false;
  };
  GrokTensor value;
  if (result->kind == Obj::Kind::Array) {
    if (!result->built) {
      error = "'" + fileName + "': the array was never given its data";
      return false;
    }
    if (!toTensor(*result, value.value))
      return oom();
  } else if (result->kind == Obj::Kind::Record) {
    auto w = result->fields.find("weight");
    auto s = result->fields.find("scales");
    if (w == result->fields.end() || s == result->fields.end()) {
      error = "'" + fileName +
              "': QuantizedWeight8bit lacks its weight or "
              "scales";
      return false;
    }
    value.quantized = true;
    if (!toTensor(*w->second, value.value) ||
        !toTensor(*s->second, value.scales))
      return oom();
  } else {
    error = "'" + fileName + "': the pickle holds a " + kindName(result->kind) +
            ", expected a NumPy array or a QuantizedWeight8bit";
    return false;
  }
  out = std::move(value);
  return true;
}
