//===- InputFile.h - Checked opening and reading of input files -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// Every file Nova reads (model and rules specs, MLIR input, .npy, checkpoint
// shards and indices, manifests) is opened through openRegularFile: a FIFO
// never blocks the open, and a device (/dev/zero), a FIFO or a directory is
// refused before a byte is read, as is a file over the caller's size limit.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_INPUTFILE_H
#define NOVA_RUNTIME_INPUTFILE_H

#include <cstdint>
#include <string>

namespace nova::rt {

/// Opens `path` read-only without blocking, checks with fstat that it is a
/// regular file of at most `maxBytes` bytes and returns its descriptor
/// (close-on-exec, blocking again) with `size` set to its length. On failure
/// returns -1 with `error` naming the file and the reason ("cannot open:
/// ...", "not a regular file (a FIFO)", "is N bytes, over the limit of M
/// bytes"); `size` is set whenever fstat succeeded.
int openRegularFile(const std::string &path, uint64_t maxBytes, uint64_t &size,
                    std::string &error);

/// Reads the whole of `path` into `out` after openRegularFile's checks.
/// `size`, when given, receives the file's length whenever fstat succeeded.
bool readRegularFile(const std::string &path, uint64_t maxBytes,
                     std::string &out, std::string &error,
                     uint64_t *size = nullptr);

} // namespace nova::rt

#endif // NOVA_RUNTIME_INPUTFILE_H
