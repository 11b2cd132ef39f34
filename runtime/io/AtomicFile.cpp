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

AtomicFileSet::~AtomicFileSet() {
  for (const Entry &e : entries)
    if (!e.temporary.empty())
      ::unlink(e.temporary.c_str());
}

bool AtomicFileSet::stage(const std::string &target, std::string &temporary,
                          std::string &error) {
  std::string pattern = target + ".tmp-XXXXXX";
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    error = "cannot create a file next to '" + target +
            "': " + std::strerror(errno);
    return false;
  }
  ::fchmod(fd, 0644);
  ::close(fd);
  entries.push_back({target, pattern});
  temporary = pattern;
  return true;
}

bool AtomicFileSet::commit(std::string &error) {
  for (const Entry &e : entries) {
    struct stat st;
    if (::lstat(e.target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      error = "cannot create '" + e.target + "': " +
              (S_ISDIR(st.st_mode) ? "it is a directory"
                                   : "it exists and is not a regular file");
      return false;
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (::rename(entries[i].temporary.c_str(), entries[i].target.c_str()) ==
        0) {
      entries[i].temporary.clear();
      continue;
    }
    error =
        "cannot create '" + entries[i].target + "': " + std::strerror(errno);
    for (size_t k = 0; k < i; ++k)
      ::unlink(entries[k].target.c_str());
    return false;
  }
  return true;
}
