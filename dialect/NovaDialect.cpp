//===- NovaDialect.cpp - Nova dialect registration ------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaDialect.h"
#include "dialect/NovaOps.h"

using namespace mlir;
using namespace mlir::nova;

#include "dialect/NovaDialect.cpp.inc"

void NovaDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "dialect/NovaOps.cpp.inc"
      >();
}

std::string mlir::nova::formatFileLocation(Location loc, bool column) {
  auto file = cast<LocationAttr>(loc).findInstanceOf<FileLineColLoc>();
  if (!file)
    return "";
  std::string out =
      file.getFilename().str() + ":" + std::to_string(file.getLine());
  if (column)
    out += ":" + std::to_string(file.getColumn());
  return out;
}
