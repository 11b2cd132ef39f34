//===- SpecReader.cpp - Checked access to YAML spec nodes -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Import/SpecReader.h"

#include "nova/runtime/Text.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::nova::spec;

Location SpecFile::loc(unsigned line, unsigned column) const {
  return FileLineColLoc::get(context, filename, line, column);
}

Location SpecFile::loc(const yaml::Node &node) const {
  return loc(node.line, node.column);
}

LogicalResult SpecFile::parse(StringRef text, yaml::Node &root) const {
  yaml::ParseError error;
  if (yaml::parse(text, yaml::Limits(), root, error))
    return success();
  emitError(loc(error.line, error.column)) << error.message;
  return failure();
}

LogicalResult SpecFile::charge(const yaml::Node &node, uint64_t n,
                               StringRef what) const {
  if (n <= remainingOps()) {
    charged += n;
    return success();
  }
  charged = limits.maxOps;
  return error(node) << "the spec unrolls to more than " << limits.maxOps
                     << " ops, parameters and inputs here (" << what
                     << "); raise the limit with --max-spec-ops";
}

std::string spec::echo(StringRef text) {
  return ::nova::rt::printable(std::string_view(text.data(), text.size()));
}

LogicalResult SpecFile::checkKeys(const yaml::Node &node,
                                  ArrayRef<StringRef> allowed,
                                  StringRef what) const {
  for (const auto &[key, value] : node.entries) {
    if (llvm::is_contained(allowed, key.scalar))
      continue;
    InFlightDiagnostic diag = error(key);
    diag << "unknown key '" << echo(key.scalar) << "' in " << what
         << "; expected one of: ";
    llvm::interleaveComma(allowed, diag);
    return failure();
  }
  return success();
}

LogicalResult SpecFile::expectMap(const yaml::Node &node,
                                  StringRef what) const {
  if (node.isMap())
    return success();
  return error(node) << "expected " << what << " (a map), got "
                     << node.describe();
}

LogicalResult SpecFile::expectSequence(const yaml::Node &node,
                                       StringRef what) const {
  if (node.isSequence())
    return success();
  return error(node) << "expected " << what << " (a sequence), got "
                     << node.describe();
}

const yaml::Node *SpecFile::get(const yaml::Node &node, StringRef key) {
  for (const auto &entry : node.entries)
    if (entry.first.scalar == key)
      return &entry.second;
  return nullptr;
}

const yaml::Node *SpecFile::require(const yaml::Node &node, StringRef key,
                                    StringRef what) const {
  if (const yaml::Node *value = get(node, key))
    return value;
  error(node) << "missing key '" << key << "' in " << what;
  return nullptr;
}

FailureOr<std::string> SpecFile::getString(const yaml::Node &node,
                                           StringRef what) const {
  if (node.isScalar())
    return node.scalar;
  return error(node) << "expected " << what << " (a string), got "
                     << node.describe();
}

FailureOr<int64_t> SpecFile::getInt(const yaml::Node &node,
                                    StringRef what) const {
  int64_t value;
  if (node.isScalar() && !node.quoted &&
      !StringRef(node.scalar).getAsInteger(10, value))
    return value;
  return error(node) << "expected " << what << " (an integer), got "
                     << node.describe();
}

FailureOr<double> SpecFile::getFloat(const yaml::Node &node,
                                     StringRef what) const {
  if (node.isScalar() && !node.quoted) {
    StringRef text = node.scalar;
    bool negative = text.consume_front("-");
    if (!negative)
      text.consume_front("+");
    double value;
    if (text == ".inf" || text == ".Inf" || text == ".INF")
      value = std::numeric_limits<double>::infinity();
    else if (text == ".nan" || text == ".NaN" || text == ".NAN")
      value = std::numeric_limits<double>::quiet_NaN();
    else if (text.getAsDouble(value) || text.empty())
      return error(node) << "expected " << what << " (a number), got "
                         << node.describe();
    return negative ? -value : value;
  }
  return error(node) << "expected " << what << " (a number), got "
                     << node.describe();
}

FailureOr<bool> SpecFile::getBool(const yaml::Node &node,
                                  StringRef what) const {
  if (node.isScalar() && !node.quoted) {
    if (node.scalar == "true" || node.scalar == "True")
      return true;
    if (node.scalar == "false" || node.scalar == "False")
      return false;
  }
  return error(node) << "expected " << what << " (true or false), got "
                     << node.describe();
}

FailureOr<Type> SpecFile::getElementType(const yaml::Node &node) const {
  Builder b(context);
  if (node.isScalar()) {
    Type type = llvm::StringSwitch<Type>(node.scalar)
                    .Case("f32", b.getF32Type())
                    .Case("bf16", b.getBF16Type())
                    .Case("f16", b.getF16Type())
                    .Case("i8", b.getI8Type())
                    .Case("i32", b.getI32Type())
                    .Case("i64", b.getI64Type())
                    .Default(Type());
    if (type)
      return type;
  }
  return error(node) << "expected a dtype (one of f32, bf16, f16, i8, i32, "
                        "i64), got "
                     << node.describe();
}

static bool isIdentifier(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

FailureOr<std::string> SpecFile::getIdentifier(const yaml::Node &node,
                                               StringRef what) const {
  if (node.isScalar() && isIdentifier(node.scalar))
    return node.scalar;
  return error(node) << "expected " << what
                     << " (an identifier: letters, digits, '_'), got "
                     << node.describe();
}

std::optional<int64_t> Scope::lookup(StringRef name) const {
  for (const Scope *s = this; s; s = s->parent) {
    auto it = s->values.find(name);
    if (it != s->values.end())
      return it->second;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Integer expressions
//===----------------------------------------------------------------------===//

namespace {
/// Recursive-descent evaluator for `expr := term (('+'|'-') term)*`,
/// `term := factor (('*'|'/') factor)*`, `factor := int | name | '-' factor |
/// '(' expr ')'`. Parentheses and unary minus nest at most kMaxExprDepth deep,
/// so a hostile expression cannot exhaust the stack.
class ExprParser {
public:
  ExprParser(StringRef text, const Scope &scope) : text(text), scope(scope) {}

  std::optional<int64_t> parse() {
    std::optional<int64_t> v = expr();
    skipSpace();
    if (v && pos != text.size())
      return fail("unexpected '" + echo(text.substr(pos, 1)) + "'");
    return v;
  }
  const std::string &getError() const { return error; }

private:
  std::optional<int64_t> fail(const std::string &message) {
    if (error.empty())
      error = message;
    return std::nullopt;
  }
  void skipSpace() {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  std::optional<int64_t> expr() {
    std::optional<int64_t> lhs = term();
    while (lhs) {
      int64_t rhs, result;
      if (consume('+')) {
        std::optional<int64_t> r = term();
        if (!r)
          return r;
        rhs = *r;
        if (__builtin_add_overflow(*lhs, rhs, &result))
          return fail("integer overflow");
      } else if (consume('-')) {
        std::optional<int64_t> r = term();
        if (!r)
          return r;
        rhs = *r;
        if (__builtin_sub_overflow(*lhs, rhs, &result))
          return fail("integer overflow");
      } else {
        break;
      }
      lhs = result;
    }
    return lhs;
  }
  std::optional<int64_t> term() {
    std::optional<int64_t> lhs = factor();
    while (lhs) {
      int64_t result;
      if (consume('*')) {
        std::optional<int64_t> r = factor();
        if (!r)
          return r;
        if (__builtin_mul_overflow(*lhs, *r, &result))
          return fail("integer overflow");
      } else if (consume('/')) {
        std::optional<int64_t> r = factor();
        if (!r)
          return r;
        if (*r == 0)
          return fail("division by zero");
        // INT64_MIN / -1 (and INT64_MIN % -1) traps on x86.
        if (*lhs == INT64_MIN && *r == -1)
          return fail("integer overflow");
        if (*lhs % *r != 0)
          return fail(std::to_string(*lhs) + " is not divisible by " +
                      std::to_string(*r));
        result = *lhs / *r;
      } else {
        break;
      }
      lhs = result;
    }
    return lhs;
  }
  /// Bounds the recursion of factor() (each '(' and unary '-' is a level).
  struct DepthGuard {
    explicit DepthGuard(unsigned &depth) : depth(depth) { ++depth; }
    ~DepthGuard() { --depth; }
    unsigned &depth;
  };

  std::optional<int64_t> factor() {
    DepthGuard guard(depth);
    if (depth > kMaxExprDepth)
      return fail("the expression nests deeper than " +
                  std::to_string(kMaxExprDepth) +
                  " levels of parentheses and unary minus");
    skipSpace();
    if (consume('-')) {
      std::optional<int64_t> v = factor();
      if (!v)
        return v;
      int64_t negated;
      if (__builtin_sub_overflow(int64_t(0), *v, &negated))
        return fail("integer overflow");
      return negated;
    }
    if (consume('(')) {
      std::optional<int64_t> v = expr();
      if (v && !consume(')'))
        return fail("expected ')'");
      return v;
    }
    size_t start = pos;
    if (pos < text.size() && llvm::isDigit(text[pos])) {
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      int64_t v;
      if (text.slice(start, pos).getAsInteger(10, v))
        return fail("integer literal out of range");
      return v;
    }
    while (pos < text.size() && (llvm::isAlnum(text[pos]) || text[pos] == '_'))
      ++pos;
    StringRef name = text.slice(start, pos);
    if (name.empty())
      return fail(pos < text.size()
                      ? "unexpected '" + echo(text.substr(pos, 1)) + "'"
                      : std::string("unexpected end of expression"));
    if (std::optional<int64_t> v = scope.lookup(name))
      return v;
    return fail("unknown dimension '" + echo(name) + "'");
  }

  StringRef text;
  const Scope &scope;
  size_t pos = 0;
  unsigned depth = 0;
  std::string error;
};
} // namespace

FailureOr<int64_t> spec::evalExpr(const SpecFile &file, const yaml::Node &node,
                                  const Scope &scope) {
  if (!node.isScalar())
    return file.error(node) << "expected an integer or a dimension "
                               "expression, got "
                            << node.describe();
  ExprParser parser(node.scalar, scope);
  if (std::optional<int64_t> v = parser.parse())
    return *v;
  return file.error(node) << "in '" << echo(node.scalar)
                          << "': " << parser.getError();
}

FailureOr<std::string> spec::substitute(const SpecFile &file,
                                        const yaml::Node &node, StringRef text,
                                        const Scope &scope) {
  std::string out;
  while (!text.empty()) {
    size_t open = text.find('{');
    out += text.take_front(open).str();
    if (open == StringRef::npos)
      break;
    size_t close = text.find('}', open);
    if (close == StringRef::npos)
      return file.error(node)
             << "unterminated '{' in '" << echo(node.scalar) << "'";
    StringRef name = text.slice(open + 1, close);
    std::optional<int64_t> value = scope.lookup(name);
    if (!value)
      return file.error(node) << "unknown index '{" << echo(name) << "}' in '"
                              << echo(node.scalar) << "'";
    out += std::to_string(*value);
    text = text.drop_front(close + 1);
  }
  return out;
}

std::string spec::typeName(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

//===----------------------------------------------------------------------===//
// Spec headers, repeat blocks and partition specs
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<const yaml::Node *>>
spec::readSpecHeader(const SpecFile &file, const yaml::Node &root,
                     const SpecHeader &header) {
  if (failed(file.expectMap(root, header.what)) ||
      failed(file.checkKeys(root, header.keys, header.what)))
    return failure();
  const yaml::Node *version = file.require(root, "version", header.requiredIn);
  const yaml::Node *kind = file.require(root, "kind", header.requiredIn);
  // Every missing key is reported, not just the first.
  SmallVector<const yaml::Node *> required;
  for (StringRef key : header.required)
    required.push_back(file.require(root, key, header.requiredIn));
  if (!version || !kind || llvm::is_contained(required, nullptr))
    return failure();
  FailureOr<int64_t> v = file.getInt(*version, "the spec version");
  if (failed(v))
    return failure();
  if (*v != 1)
    return file.error(*version) << "expected spec version 1, got " << *v;
  if (!kind->isScalar() || kind->scalar != header.kind) {
    InFlightDiagnostic diag = file.error(*kind);
    diag << "expected kind '" << header.kind << "', got " << kind->describe();
    if (!header.otherKind.empty() && kind->isScalar() &&
        kind->scalar == header.otherKind)
      diag << header.otherKindHint;
    return failure();
  }
  return required;
}

namespace {
/// A repeat block's body and trip count, its index bound to `index`.
struct Repeat {
  const yaml::Node *body;
  int64_t count;
  std::string index;
};
} // namespace

static FailureOr<Repeat>
readRepeat(const SpecFile &file, const yaml::Node &node, const Scope &scope) {
  if (failed(file.checkKeys(node, {"repeat", "body"}, "a repeat block")))
    return failure();
  const yaml::Node *repeat = SpecFile::get(node, "repeat");
  if (failed(file.expectMap(*repeat, "'repeat'")) ||
      failed(file.checkKeys(*repeat, {"index", "count"}, "'repeat'")))
    return failure();
  const yaml::Node *indexNode = file.require(*repeat, "index", "'repeat'");
  const yaml::Node *countNode = file.require(*repeat, "count", "'repeat'");
  const yaml::Node *body = file.require(node, "body", "a repeat block");
  if (!indexNode || !countNode || !body)
    return failure();
  FailureOr<std::string> name = file.getIdentifier(*indexNode, "an index name");
  FailureOr<int64_t> count = evalExpr(file, *countNode, scope);
  if (failed(name) || failed(count))
    return failure();
  if (scope.lookup(*name))
    return file.error(*indexNode)
           << "index '" << *name << "' shadows a dimension or an outer index";
  if (*count < 0)
    return file.error(*countNode)
           << "expected a non-negative repeat count, got " << *count;
  if (failed(file.expectSequence(*body, "a repeat body")))
    return failure();
  // Every iteration is charged, even of an empty body; a count past what is
  // left is refused here rather than after unrolling part of it.
  if (static_cast<uint64_t>(*count) > file.remainingOps()) {
    (void)file.charge(*countNode, *count,
                      "a repeat count of " + std::to_string(*count));
    return failure();
  }
  return Repeat{body, *count, *name};
}

namespace {
/// The unrolling walk of forEachItem(); `indices` mirrors the scope chain.
struct ItemWalk {
  const SpecFile &file;
  StringRef itemWhat;
  function_ref<LogicalResult(const yaml::Node &, const Scope &, RepeatIndices)>
      item;
  std::vector<std::pair<std::string, int64_t>> indices;

  LogicalResult walk(const yaml::Node &seq, const Scope &scope) {
    for (const yaml::Node &node : seq.items) {
      if (failed(file.expectMap(node, itemWhat)))
        return failure();
      if (!SpecFile::get(node, "repeat")) {
        if (failed(file.charge(node, 1, itemWhat)) ||
            failed(item(node, scope, indices)))
          return failure();
        continue;
      }
      FailureOr<Repeat> repeat = readRepeat(file, node, scope);
      if (failed(repeat))
        return failure();
      for (int64_t i = 0; i < repeat->count; ++i) {
        if (failed(file.charge(node, 1, "a repeat iteration")))
          return failure();
        Scope inner(&scope);
        inner.set(repeat->index, i);
        indices.emplace_back(repeat->index, i);
        LogicalResult result = walk(*repeat->body, inner);
        indices.pop_back();
        if (failed(result))
          return failure();
      }
    }
    return success();
  }
};
} // namespace

LogicalResult
spec::forEachItem(const SpecFile &file, const yaml::Node &seq,
                  const Scope &scope, StringRef what, StringRef itemWhat,
                  function_ref<LogicalResult(const yaml::Node &, const Scope &,
                                             RepeatIndices)>
                      item) {
  if (failed(file.expectSequence(seq, what)))
    return failure();
  ItemWalk walk{file, itemWhat, item, {}};
  return walk.walk(seq, scope);
}

FailureOr<ArrayAttr> spec::readPartitionSpec(
    const SpecFile &file, const yaml::Node &spec,
    function_ref<LogicalResult(const yaml::Node &, StringRef)> checkAxis) {
  Builder builder(file.getContext());
  llvm::StringSet<> seen;
  auto axis = [&](const yaml::Node &node,
                  SmallVectorImpl<Attribute> &into) -> LogicalResult {
    FailureOr<std::string> name = file.getString(node, "a mesh axis");
    if (failed(name) || failed(checkAxis(node, *name)))
      return failure();
    if (!seen.insert(*name).second)
      return file.error(node)
             << "mesh axis '" << echo(*name) << "' is used twice in one spec";
    into.push_back(builder.getStringAttr(*name));
    return success();
  };
  SmallVector<Attribute> dims;
  for (const yaml::Node &dim : spec.items) {
    // None (YAML null, or Python's spelling) replicates the dimension.
    if (dim.isNull() ||
        (dim.isScalar() && !dim.quoted && dim.scalar == "None")) {
      dims.push_back(builder.getArrayAttr({}));
      continue;
    }
    if (dim.isSequence()) {
      SmallVector<Attribute> axes;
      for (const yaml::Node &a : dim.items)
        if (failed(axis(a, axes)))
          return failure();
      dims.push_back(builder.getArrayAttr(axes));
      continue;
    }
    SmallVector<Attribute> one;
    if (failed(axis(dim, one)))
      return failure();
    dims.push_back(one.front());
  }
  return builder.getArrayAttr(dims);
}
