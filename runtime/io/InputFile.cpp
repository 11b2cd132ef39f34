//===- InputFile.cpp - Checked opening and reading of input files ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/InputFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova::rt;

static const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "a special file";
}

int nova::rt::openRegularFile(const std::string &path, uint64_t maxBytes,
                              uint64_t &size, std::string &error) {
  // O_NONBLOCK: opening a FIFO without a writer would block forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = "'" + path + "': cannot open: " + std::strerror(errno);
    return -1;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    error = "'" + path + "': cannot stat: " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "'" + path + "': not a regular file (" + fileKind(st.st_mode) + ")";
    ::close(fd);
    return -1;
  }
  size = static_cast<uint64_t>(st.st_size);
  if (size > maxBytes) {
    error = "'" + path + "' is " + std::to_string(size) +
            " bytes, over the limit of " + std::to_string(maxBytes) + " bytes";
    ::close(fd);
    return -1;
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    error = "'" + path + "': cannot open: " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool nova::rt::readRegularFile(const std::string &path, uint64_t maxBytes,
                               std::string &out, std::string &error,
                               uint64_t *size) {
  uint64_t length = 0;
  int fd = openRegularFile(path, maxBytes, length, error);
  if (size)
    *size = length;
  if (fd < 0)
    return false;
  out.assign(length, '\0');
  // Read no more than fstat reported: a file that grows meanwhile is cut at
  // the size that passed the limit; one that shrinks is an error.
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::read(fd, &out[done], length - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "'" + path + "': " +
              (n < 0 ? std::string("cannot read: ") + std::strerror(errno)
                     : "file shrank while being read");
      ::close(fd);
      return false;
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return true;
}
