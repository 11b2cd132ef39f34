//===- BufferizableOpInterfaceImpl.h - Bufferizing Nova ops -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// One-shot bufferization of the ops that stay on tensors until then: the
// SPMD collectives (nova.all_reduce, nova.all_gather). An external model,
// as upstream's dialects keep theirs, so that the dialect library (which the
// interpreter links) does not depend on bufferization.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_BUFFERIZABLEOPINTERFACEIMPL_H
#define NOVA_DIALECT_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;

namespace nova {

/// Attaches BufferizableOpInterface to nova.all_reduce and nova.all_gather:
/// the input is read, never written or aliased, and the result is a new
/// allocation (identity layout) that the buffer form writes through `into`.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

} // namespace nova
} // namespace mlir

#endif // NOVA_DIALECT_BUFFERIZABLEOPINTERFACEIMPL_H
