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
