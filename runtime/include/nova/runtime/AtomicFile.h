//===- AtomicFile.h - Write a file completely or not at all -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_ATOMICFILE_H
#define NOVA_RUNTIME_ATOMICFILE_H

#include <cstddef>
#include <string>
#include <vector>

namespace nova::rt {

/// Writes to a temporary file next to `path`; commit() flushes it and
/// renames it over `path`. Destroying an uncommitted AtomicFile removes the
/// temporary, so `path` never holds a partial file and an existing `path`
/// is untouched by a failed write.
class AtomicFile {
public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile();

  bool open(const std::string &path, std::string &error);
  bool write(const void *data, size_t size, std::string &error);
  bool commit(std::string &error);

private:
  std::string target, temporary;
  int fd = -1;
};

/// Convenience: writes `bytes` to `path` through an AtomicFile.
bool writeFileAtomically(const std::string &path, const std::string &bytes,
                         std::string &error);

/// A set of files written all-or-nothing. stage() reserves a fresh
/// temporary next to each target, for the caller to write (by any writer,
/// atomic ones included); commit() checks that no target is a directory or
/// other non-regular file, then renames every temporary into place. If a
/// rename still fails, the targets renamed so far are removed, and
/// destroying an uncommitted set removes its temporaries: a failure leaves
/// none of the set's files.
class AtomicFileSet {
public:
  AtomicFileSet() = default;
  AtomicFileSet(const AtomicFileSet &) = delete;
  AtomicFileSet &operator=(const AtomicFileSet &) = delete;
  ~AtomicFileSet();

  /// Reserves a temporary for `target`; sets `temporary` to its path.
  bool stage(const std::string &target, std::string &temporary,
             std::string &error);
  bool commit(std::string &error);

private:
  struct Entry {
    std::string target, temporary;
  };
  std::vector<Entry> entries;
};

} // namespace nova::rt

#endif // NOVA_RUNTIME_ATOMICFILE_H
