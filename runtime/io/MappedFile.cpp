//===- MappedFile.cpp - A regular file mapped read-only -------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/MappedFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova::rt;

std::shared_ptr<const MappedFile> MappedFile::open(const std::string &path,
                                                   std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "'" + path + "': cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = "'" + path + "': not a regular file";
    return nullptr;
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->bytes = static_cast<uint64_t>(st.st_size);
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
