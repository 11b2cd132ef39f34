//===- AtomicFile.cpp - Write a file completely or not at all -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova::rt;

AtomicFile::~AtomicFile() {
  if (fd >= 0)
    ::close(fd);
  if (!temporary.empty())
    ::unlink(temporary.c_str());
}

bool AtomicFile::open(const std::string &path, std::string &error) {
  target = path;
  temporary = path + ".tmp-XXXXXX";
  std::string pattern = temporary;
  fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    error =
        "cannot create a file next to '" + path + "': " + std::strerror(errno);
    temporary.clear();
    return false;
  }
  temporary = pattern;
  ::fchmod(fd, 0644);
  return true;
}

bool AtomicFile::write(const void *data, size_t size, std::string &error) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error = "cannot write '" + target + "': " + std::strerror(errno);
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool AtomicFile::commit(std::string &error) {
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    fd = -1;
    error = "cannot write '" + target + "': " + std::strerror(errno);
    return false;
  }
  fd = -1;
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    error = "cannot create '" + target + "': " + std::strerror(errno);
    return false;
  }
  temporary.clear();
  return true;
}

bool nova::rt::writeFileAtomically(const std::string &path,
                                   const std::string &bytes,
                                   std::string &error) {
  AtomicFile file;
  return file.open(path, error) &&
         file.write(bytes.data(), bytes.size(), error) && file.commit(error);
}
