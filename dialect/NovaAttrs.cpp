//===- NovaAttrs.cpp - Nova attributes ------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaAttrs.h"
#include "dialect/NovaDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::nova;

#include "dialect/NovaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/NovaAttrs.cpp.inc"

void NovaDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/NovaAttrs.cpp.inc"
      >();
}

std::string mlir::nova::formatShape(ArrayRef<int64_t> shape) {
  std::string out = "[";
  llvm::raw_string_ostream os(out);
  llvm::interleaveComma(shape, os);
  os << "]";
  return out;
}

//===----------------------------------------------------------------------===//
// ScaleLayoutAttr
//===----------------------------------------------------------------------===//

static bool layoutHasSize(ScaleLayoutKind kind) {
  return kind == ScaleLayoutKind::RowBlocks || kind == ScaleLayoutKind::Group ||
         kind == ScaleLayoutKind::RowBlockScalars;
}

Attribute ScaleLayoutAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<ScaleLayoutKind> kind = symbolizeScaleLayoutKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "expected one of per_tensor, per_column, "
                             "row_blocks, group, row_block_scalars, got '"
                          << keyword << "'";
    return {};
  }
  int64_t size = 0;
  if (layoutHasSize(*kind)) {
    if (parser.parseEqual() || parser.parseInteger(size))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<ScaleLayoutAttr>(loc, parser.getContext(), *kind,
                                            size);
}

void ScaleLayoutAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyScaleLayoutKind(getKind());
  if (layoutHasSize(getKind()))
    printer << " = " << getSize();
  printer << ">";
}

LogicalResult
ScaleLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        ScaleLayoutKind kind, int64_t size) {
  if (layoutHasSize(kind) && size < 1)
    return emitError() << "expected a positive "
                       << stringifyScaleLayoutKind(kind) << " size, got "
                       << size;
  if (!layoutHasSize(kind) && size != 0)
    return emitError() << "expected no size for "
                       << stringifyScaleLayoutKind(kind) << ", got " << size;
  return success();
}

int64_t ScaleLayoutAttr::getNumRowBlocks(int64_t k) const {
  switch (getKind()) {
  case ScaleLayoutKind::PerTensor:
  case ScaleLayoutKind::PerColumn:
    return 1;
  case ScaleLayoutKind::RowBlocks:
  case ScaleLayoutKind::RowBlockScalars:
    return getSize();
  case ScaleLayoutKind::Group:
    return k / getSize();
  }
  llvm_unreachable("unknown scale layout");
}

int64_t ScaleLayoutAttr::getNumScaleColumns(int64_t n) const {
  return getKind() == ScaleLayoutKind::PerTensor ||
                 getKind() == ScaleLayoutKind::RowBlockScalars
             ? 1
             : n;
}

bool ScaleLayoutAttr::verifyShapes(ArrayRef<int64_t> weightShape,
                                   ArrayRef<int64_t> scalesShape,
                                   std::string &error) const {
  llvm::raw_string_ostream os(error);
  if (weightShape.size() < 2) {
    os << "expected a weight of rank >= 2 ([B..., K, N]), got "
       << formatShape(weightShape);
    return false;
  }
  int64_t k = weightShape[weightShape.size() - 2];
  int64_t n = weightShape.back();
  if (layoutHasSize(getKind()) && k % getSize() != 0) {
    os << "expected the weight's K = " << k << " to be divisible by "
       << stringifyScaleLayoutKind(getKind()) << " = " << getSize()
       << ", got remainder " << k % getSize();
    return false;
  }
  SmallVector<int64_t> expected(weightShape.drop_back(2));
  expected.push_back(getNumRowBlocks(k));
  expected.push_back(getNumScaleColumns(n));
  if (ArrayRef<int64_t>(expected) != scalesShape) {
    os << "expected scales of shape " << formatShape(expected)
       << " for a weight of shape " << formatShape(weightShape) << " with "
       << *this << ", got " << formatShape(scalesShape);
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// ShardingAttr
//===----------------------------------------------------------------------===//

Attribute ShardingAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringAttr meshName;
  if (parser.parseLess() || parser.parseSymbolName(meshName) ||
      parser.parseComma())
    return {};
  Builder &b = parser.getBuilder();
  SmallVector<Attribute> dims;
  auto parseAxis = [&](SmallVectorImpl<Attribute> &into) -> ParseResult {
    std::string axis;
    if (parser.parseString(&axis))
      return failure();
    into.push_back(b.getStringAttr(axis));
    return success();
  };
  auto parseDim = [&]() -> ParseResult {
    if (succeeded(parser.parseOptionalKeyword("None"))) {
      dims.push_back(b.getArrayAttr({}));
      return success();
    }
    if (succeeded(parser.parseOptionalLParen())) {
      SmallVector<Attribute> axes;
      if (failed(parser.parseOptionalRParen())) {
        if (parser.parseCommaSeparatedList([&] { return parseAxis(axes); }) ||
            parser.parseRParen())
          return failure();
      }
      dims.push_back(b.getArrayAttr(axes));
      return success();
    }
    SmallVector<Attribute> one;
    if (parseAxis(one))
      return failure();
    dims.push_back(one.front());
    return success();
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseDim) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<ShardingAttr>(loc, parser.getContext(),
                                         FlatSymbolRefAttr::get(meshName),
                                         b.getArrayAttr(dims));
}

void ShardingAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printSymbolName(getMesh().getValue());
  printer << ", [";
  llvm::interleaveComma(getDims(), printer, [&](Attribute dim) {
    if (auto axis = dyn_cast<StringAttr>(dim)) {
      printer.printString(axis.getValue());
      return;
    }
    auto axes = cast<ArrayAttr>(dim);
    if (axes.empty()) {
      printer << "None";
      return;
    }
    printer << "(";
    llvm::interleaveComma(axes, printer, [&](Attribute a) {
      printer.printString(cast<StringAttr>(a).getValue());
    });
    printer << ")";
  });
  printer << "]>";
}

LogicalResult ShardingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   FlatSymbolRefAttr mesh, ArrayAttr dims) {
  if (!mesh)
    return emitError() << "expected a mesh symbol";
  llvm::SmallSet<StringRef, 4> seen;
  auto checkAxis = [&](Attribute a) -> LogicalResult {
    auto axis = dyn_cast<StringAttr>(a);
    if (!axis)
      return emitError() << "expected a mesh axis name, got " << a;
    if (axis.getValue().empty())
      return emitError() << "expected a non-empty mesh axis name";
    if (!seen.insert(axis.getValue()).second)
      return emitError() << "expected each mesh axis at most once, got '"
                         << axis.getValue() << "' twice";
    return success();
  };
  for (Attribute dim : dims) {
    if (auto axes = dyn_cast<ArrayAttr>(dim)) {
      for (Attribute a : axes)
        if (failed(checkAxis(a)))
          return failure();
      continue;
    }
    if (failed(checkAxis(dim)))
      return failure();
  }
  return success();
}

SmallVector<StringRef> ShardingAttr::getAxes(unsigned dim) const {
  SmallVector<StringRef> axes;
  if (dim >= getDims().size())
    return axes;
  Attribute entry = getDims()[dim];
  if (auto axis = dyn_cast<StringAttr>(entry)) {
    axes.push_back(axis.getValue());
    return axes;
  }
  for (Attribute a : cast<ArrayAttr>(entry))
    axes.push_back(cast<StringAttr>(a).getValue());
  return axes;
}

std::string ShardingAttr::getDimString(unsigned dim) const {
  if (dim >= getDims().size())
    return "None";
  Attribute entry = getDims()[dim];
  if (auto axis = dyn_cast<StringAttr>(entry))
    return "'" + axis.getValue().str() + "'";
  auto axes = cast<ArrayAttr>(entry);
  if (axes.empty())
    return "None";
  std::string out = "(";
  llvm::raw_string_ostream os(out);
  llvm::interleaveComma(axes, os, [&](Attribute a) {
    os << "'" << cast<StringAttr>(a).getValue() << "'";
  });
  // Python's repr of a one-element tuple keeps the trailing comma.
  if (axes.size() == 1)
    os << ",";
  os << ")";
  return out;
}

std::string ShardingAttr::toPartitionSpecString() const {
  std::string out = "P(";
  for (unsigned d = 0, e = getDims().size(); d < e; ++d)
    out += (d ? ", " : "") + getDimString(d);
  return out + ")";
}
