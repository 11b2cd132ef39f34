//===- SpecReader.h - Checked access to YAML spec nodes ---------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the model-spec and partition-rule importers: every
// accessor checks the node's shape and, on a mismatch, emits an MLIR error at
// the node's YAML file:line:col naming what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_IMPORT_SPECREADER_H
#define NOVA_PASSES_IMPORT_SPECREADER_H

#include "passes/Import/SpecImport.h"
#include "passes/Import/Yaml.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"

#include <initializer_list>

namespace mlir::nova::spec {

/// One YAML file being imported.
class SpecFile {
public:
  SpecFile(MLIRContext *context, llvm::StringRef filename,
           const SpecLimits &limits = {})
      : context(context), filename(filename.str()), limits(limits) {}

  MLIRContext *getContext() const { return context; }
  llvm::StringRef getFilename() const { return filename; }

  /// The node's file:line:col as an MLIR location.
  Location loc(const yaml::Node &node) const;
  Location loc(unsigned line, unsigned column) const;
  InFlightDiagnostic error(const yaml::Node &node) const {
    return emitError(loc(node));
  }
  InFlightDiagnostic warning(const yaml::Node &node) const {
    return emitWarning(loc(node));
  }

  /// Parses `text` into `root`, reporting syntax errors at their position.
  LogicalResult parse(llvm::StringRef text, yaml::Node &root) const;

  /// Counts `n` items (SpecLimits::maxOps) at `node`, `what` naming them;
  /// an error there once the spec has unrolled to more than the limit.
  LogicalResult charge(const yaml::Node &node, uint64_t n,
                       llvm::StringRef what) const;
  /// Items left before charge() fails.
  uint64_t remainingOps() const {
    return charged < limits.maxOps ? limits.maxOps - charged : 0;
  }

  //===--------------------------------------------------------------------===//
  // Typed access
  //===--------------------------------------------------------------------===//

  /// Errors on any key of map `node` not in `allowed`; `what` names the map
  /// in the message ("unknown key 'x' in <what>; expected one of ...").
  LogicalResult checkKeys(const yaml::Node &node,
                          llvm::ArrayRef<llvm::StringRef> allowed,
                          llvm::StringRef what) const;
  /// Errors unless `node` is a map / sequence.
  LogicalResult expectMap(const yaml::Node &node, llvm::StringRef what) const;
  LogicalResult expectSequence(const yaml::Node &node,
                               llvm::StringRef what) const;

  /// The value of `key` in map `node`, or nullptr.
  static const yaml::Node *get(const yaml::Node &node, llvm::StringRef key);
  /// Like get(), but a missing key is an error at the map.
  const yaml::Node *require(const yaml::Node &node, llvm::StringRef key,
                            llvm::StringRef what) const;

  FailureOr<std::string> getString(const yaml::Node &node,
                                   llvm::StringRef what) const;
  FailureOr<int64_t> getInt(const yaml::Node &node, llvm::StringRef what) const;
  FailureOr<double> getFloat(const yaml::Node &node,
                             llvm::StringRef what) const;
  FailureOr<bool> getBool(const yaml::Node &node, llvm::StringRef what) const;
  /// An element type: f32, bf16, f16, i8, i32, i64.
  FailureOr<Type> getElementType(const yaml::Node &node) const;
  /// A name usable as an identifier ([A-Za-z_][A-Za-z0-9_]*).
  FailureOr<std::string> getIdentifier(const yaml::Node &node,
                                       llvm::StringRef what) const;

private:
  MLIRContext *context;
  std::string filename;
  SpecLimits limits;
  /// Items charged so far, over the whole file.
  mutable uint64_t charged = 0;
};

/// Deepest nesting of parentheses and unary minus in an expression.
constexpr unsigned kMaxExprDepth = 100;

/// Untrusted text (a YAML key, scalar or name) as messages echo it: through
/// nova::rt::printable, so newlines, NUL and escape sequences are escaped.
std::string echo(llvm::StringRef text);

/// Integer-valued names visible to shape expressions: named dimensions and
/// repeat indices. Lookups go from the innermost scope outwards.
class Scope {
public:
  explicit Scope(const Scope *parent = nullptr) : parent(parent) {}
  void set(llvm::StringRef name, int64_t value) { values[name] = value; }
  std::optional<int64_t> lookup(llvm::StringRef name) const;
  bool definesLocally(llvm::StringRef name) const { return values.count(name); }

private:
  const Scope *parent;
  llvm::StringMap<int64_t> values;
};

/// Evaluates an integer expression over `scope`: integer literals, names,
/// + - * / (exact division only) and parentheses, e.g. "H*Dh" or "D/8".
FailureOr<int64_t> evalExpr(const SpecFile &file, const yaml::Node &node,
                            const Scope &scope);

/// Replaces every "{name}" in `text` with the value of `name` in `scope`
/// (used to put repeat indices into parameter paths).
FailureOr<std::string> substitute(const SpecFile &file, const yaml::Node &node,
                                  llvm::StringRef text, const Scope &scope);

/// Element type names as specs spell them.
std::string typeName(Type type);

//===----------------------------------------------------------------------===//
// Shapes of the spec format shared by both kinds of spec
//===----------------------------------------------------------------------===//

/// The mesh a partition-rule spec declares when it names none, and the one a
/// model spec's `shard` refers to when it names none.
constexpr llvm::StringLiteral kDefaultMeshName = "mesh";

/// What the top-level map of one kind of spec must look like.
struct SpecHeader {
  /// The value `kind:` must have ("model").
  llvm::StringRef kind;
  /// The map in type and unknown-key errors ("a model spec").
  llvm::StringRef what;
  /// The map in missing-key errors (may differ from `what`).
  llvm::StringRef requiredIn;
  /// Every key allowed at the top level, in the order errors list them.
  llvm::ArrayRef<llvm::StringRef> keys;
  /// Keys required besides `version` and `kind`, checked together with them.
  llvm::ArrayRef<llvm::StringRef> required = {};
  /// A `kind:` of `otherKind` gets `otherKindHint` appended to its error.
  llvm::StringRef otherKind = {}, otherKindHint = {};
};

/// Checks `root` against `header`: a map of allowed keys with `version: 1`
/// and the expected `kind`. Returns the nodes of `header.required`, in order.
FailureOr<llvm::SmallVector<const yaml::Node *>>
readSpecHeader(const SpecFile &file, const yaml::Node &root,
               const SpecHeader &header);

/// The repeat indices bound where an item is read, outermost first.
using RepeatIndices = llvm::ArrayRef<std::pair<std::string, int64_t>>;

/// Calls `item` on every map of sequence `seq`, unrolling repeat blocks
/// (`{repeat: {index, count}, body: [...]}`, nested to any depth): a body is
/// visited `count` times with its index bound in an inner scope. `what` and
/// `itemWhat` name the sequence and its items in errors.
LogicalResult
forEachItem(const SpecFile &file, const yaml::Node &seq, const Scope &scope,
            llvm::StringRef what, llvm::StringRef itemWhat,
            llvm::function_ref<LogicalResult(const yaml::Node &, const Scope &,
                                             RepeatIndices)>
                item);

/// Reads a partition spec (a sequence; the caller checked that): one entry
/// per leading dimension, each `null`/`None` (replicated), an axis name or a
/// list of axis names. `checkAxis` vets each name at its node before the
/// shared check that no axis is used twice. Returns the entries as a
/// ShardingAttr's `dims`.
FailureOr<ArrayAttr> readPartitionSpec(
    const SpecFile &file, const yaml::Node &spec,
    llvm::function_ref<LogicalResult(const yaml::Node &, llvm::StringRef)>
        checkAxis);

} // namespace mlir::nova::spec

#endif // NOVA_PASSES_IMPORT_SPECREADER_H
