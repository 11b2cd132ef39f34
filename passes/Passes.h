//===- Passes.h - All Nova passes -------------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PASSES_H
#define NOVA_PASSES_PASSES_H

#include "passes/Conversion/Passes.h"
#include "passes/Partition/Passes.h"
#include "passes/Pipelines/Pipelines.h"

namespace mlir::nova {

/// Registers every Nova pass and pipeline with the global registry.
inline void registerNovaPasses() {
  registerNovaPartitionPasses();
  registerNovaConversionPasses();
  registerNovaPipelines();
}

} // namespace mlir::nova

#endif // NOVA_PASSES_PASSES_H
