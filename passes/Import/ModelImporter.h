//===- ModelImporter.h - The model-spec importer's state --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Private to passes/Import. ModelImport.cpp reads declarations and entry
// points and resolves operands; ModelOps.cpp holds the op registry, one
// import function per YAML op (as Toy's MLIRGen has one mlirGen per node
// kind), which build IR through the accessors declared here.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_IMPORT_MODELIMPORTER_H
#define NOVA_PASSES_IMPORT_MODELIMPORTER_H

#include "passes/Import/SpecReader.h"

#include "dialect/NovaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <utility>
#include <vector>

namespace mlir::nova::spec {

/// A declared parameter.
struct ParamDecl {
  std::string path;
  RankedTensorType type;
  /// Set for int8 weights with scales.
  RankedTensorType scalesType;
  ScaleLayoutAttr layout;
  const yaml::Node *node = nullptr;
  /// The declaration's shape node and the repeat indices in scope there, to
  /// re-evaluate the shape under an entry's dimension overrides.
  const yaml::Node *shapeNode = nullptr;
  std::vector<std::pair<std::string, int64_t>> indices;
  bool used = false;
};

/// An operand reference resolved by the importer: a value, or a quantized
/// parameter (weight + scales + layout).
struct Operand {
  Value value;
  Value scales;
  ScaleLayoutAttr layout;
  bool isQuantized() const { return scales != nullptr; }
};

/// One graph op being imported: its YAML map, its registry name ("linear"),
/// the scope its expressions see and its location.
struct OpNode {
  const yaml::Node &node;
  llvm::StringRef name;
  const Scope &scope;
  Location loc;
};

/// Most elements of a constant the importer builds (a number broadcast to
/// its tensor operand's shape): Grok-1's largest is its logits, [1, 1024,
/// 131072] = 2^27.
constexpr int64_t kMaxConstantElements = int64_t(1) << 28;

inline RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type element) {
  return RankedTensorType::get(shape, element);
}
inline ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}
inline Type elementOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}
/// `shape[i]` counting negative i from the end; 1 when out of range (the op
/// verifier then reports the real problem).
inline int64_t dimAt(ArrayRef<int64_t> shape, int64_t i) {
  if (i < 0)
    i += shape.size();
  return i >= 0 && i < static_cast<int64_t>(shape.size()) ? shape[i] : 1;
}

/// Translates one model spec into a module.
class ModelImporter {
public:
  ModelImporter(SpecFile &file, ModuleOp module)
      : file(file), module(module), builder(module.getContext()) {}

  LogicalResult import(const yaml::Node &root);

  //===--- For the op import functions (ModelOps.cpp) ---------------------===//

  SpecFile &getFile() { return file; }
  OpBuilder &getBuilder() { return builder; }

  /// Value `key` of `op`; a missing key is an error "in '<op name>'".
  const yaml::Node *require(const OpNode &op, llvm::StringRef key);
  /// Resolves a value name or parameter path.
  FailureOr<Operand> resolve(const yaml::Node &ref, const Scope &scope);
  /// The float/int tensor named by `key` (quantized params are dequantized).
  FailureOr<Value> value(const OpNode &op, llvm::StringRef key);
  /// The optional operand `key`: Value() when absent.
  FailureOr<Value> optionalValue(const OpNode &op, llvm::StringRef key);
  /// The quantized parameter named by `key`.
  FailureOr<Operand> quantized(const OpNode &op, llvm::StringRef key);
  /// Optional `dtype`, `key` (an expression), `key` (a number) and `key`
  /// (true or false).
  FailureOr<Type> dtypeOr(const OpNode &op, Type fallback);
  FailureOr<int64_t> intOr(const OpNode &op, llvm::StringRef key,
                           int64_t fallback);
  FailureOr<double> floatOr(const OpNode &op, llvm::StringRef key,
                            double fallback);
  FailureOr<bool> boolOr(const OpNode &op, llvm::StringRef key, bool fallback);
  /// The scale layout given by keys `layout`, `blocks`, `group_size` of `map`.
  FailureOr<ScaleLayoutAttr> readLayout(const yaml::Node &map);
  /// Verifies `created` (so that errors point at the op's YAML line) and
  /// binds the names of `out` to its results.
  LogicalResult bind(const OpNode &op, Operation *created);
  /// Binds the single name of `out` to `v` (an op that builds nothing).
  LogicalResult alias(const OpNode &op, Value v);
  /// A constant tensor of `type` filled with `v`, for the op at `at`; an
  /// error there over kMaxConstantElements elements.
  FailureOr<Value> splat(const yaml::Node &at, RankedTensorType type, double v);
  /// Errors at `at` unless `type`'s size in bytes fits in int64.
  LogicalResult checkTensorType(const yaml::Node &at, RankedTensorType type);
  /// `v` converted to element type `element` (itself when it already is).
  Value castTo(Location loc, Value v, Type element);

private:
  //===--- Declarations ---------------------------------------------------===//
  LogicalResult readDims(const yaml::Node &node);
  LogicalResult readParam(const yaml::Node &node, const Scope &scope,
                          RepeatIndices indices);
  FailureOr<RankedTensorType> readScales(const yaml::Node &scales,
                                         RankedTensorType type,
                                         const yaml::Node &shapeNode,
                                         ScaleLayoutAttr &layout);
  FailureOr<SmallVector<int64_t>> readShape(const yaml::Node &node,
                                            const Scope &scope);
  FailureOr<RankedTensorType> readTensorType(const yaml::Node &map,
                                             const Scope &scope,
                                             llvm::StringRef what);
  LogicalResult checkParamsUnder(const Scope &dims, const yaml::Node &at,
                                 llvm::StringRef entry);

  //===--- Entry points ---------------------------------------------------===//
  LogicalResult importEntries(const yaml::Node &root);
  LogicalResult importEntry(llvm::StringRef name, const Scope &dims,
                            const yaml::Node &at);
  /// Imports one graph op through the op registry (ModelOps.cpp).
  LogicalResult importOp(const yaml::Node &node, const Scope &scope);
  Value paramValue(ParamDecl &decl, Value *scales);
  /// `{nova.name = name}` for each of `names`.
  SmallVector<DictionaryAttr> names(ArrayRef<std::string> names);

  SpecFile &file;
  ModuleOp module;
  OpBuilder builder;
  Scope dims;
  std::vector<ParamDecl> params;
  llvm::StringMap<size_t> paramIndex;
  const yaml::Node *inputs = nullptr, *graph = nullptr, *outputs = nullptr;

  // Per entry point.
  llvm::StringMap<Value> values;
  llvm::StringMap<std::pair<Value, Value>> paramValues;
};

} // namespace mlir::nova::spec

#endif // NOVA_PASSES_IMPORT_MODELIMPORTER_H
