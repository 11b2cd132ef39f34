//===- Pickle.h - A restricted reader for Grok-1's checkpoint pickles -*- C++
//-*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Grok-1's checkpoint stores one pickle per parameter: a NumPy array, or a
// `QuantizedWeight8bit` record whose `weight` and `scales` fields are NumPy
// arrays (../shared/grok1-semantics.md §5.1). `pickle.load` on such a file
// executes whatever the file says. This reader executes nothing: it is a
// stack machine over the pickle opcodes NumPy and dataclasses emit
// (protocols 2 to 5) that knows exactly the callables those pickles name —
// NumPy's array reconstructors and dtype, ml_dtypes' bfloat16, the record
// class — and rejects every other global (os.system, builtins.eval, ...)
// the moment it is named, before anything could be called.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_PICKLE_H
#define NOVA_RUNTIME_PICKLE_H

#include "nova/runtime/HostTensor.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nova::rt {

/// The content of one Grok-1 checkpoint file.
struct GrokTensor {
  bool quantized = false;
  /// The array (unquantized) or the int8 weight (quantized).
  HostTensor value;
  /// The scales of a quantized weight.
  HostTensor scales;
};

/// Limits against hostile files (the data itself is bounded by the file).
struct PickleLimits {
  size_t maxStack = 1 << 16;
  size_t maxMemo = 1 << 16;
  unsigned maxRank = 16;
  /// Objects one pickle may create (a Grok-1 parameter needs a few dozen).
  size_t maxObjects = 1 << 16;
  /// Levels of objects inside objects (a Grok-1 parameter needs 4).
  unsigned maxDepth = 64;
};

/// Reads one Grok-1 checkpoint pickle of `size` bytes. On failure returns
/// false with `error` naming `fileName`, the byte offset and what was
/// wrong (a forbidden global, an unsupported opcode, a truncated file, an
/// array whose bytes do not match its shape and dtype, ...).
bool readGrokPickle(const uint8_t *data, size_t size,
                    const std::string &fileName, GrokTensor &out,
                    std::string &error,
                    const PickleLimits &limits = PickleLimits());

} // namespace nova::rt

#endif // NOVA_RUNTIME_PICKLE_H
