//===- MappedFile.cpp - A regular file mapped read-only -------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/MappedFile.h"
#include "nova/runtime/InputFile.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

using namespace nova::rt;

std::shared_ptr<const MappedFile> MappedFile::open(const std::string &path,
                                                   std::string &error) {
  uint64_t size = 0;
  int fd = openRegularFile(path, UINT64_MAX, size, error);
  if (fd < 0)
    return nullptr;
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->bytes = size;
  if (file->bytes) {
    void *base = ::mmap(nullptr, file->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      ::close(fd);
      error = "'" + path + "': cannot map: " + std::strerror(errno);
      return nullptr;
    }
    file->base = base;
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (base)
    ::munmap(base, bytes);
}
