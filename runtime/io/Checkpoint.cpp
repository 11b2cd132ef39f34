//===- Checkpoint.cpp - Fast, safe checkpoint loading ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/InputFile.h"
#include "nova/runtime/MappedFile.h"
#include "nova/runtime/Text.h"

#include "io/Json.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <mutex>
#include <set>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

using namespace nova::rt;

std::optional<ReadMode> nova::rt::parseReadMode(std::string_view name) {
  if (name == "auto")
    return ReadMode::Auto;
  if (name == "mmap")
    return ReadMode::Mmap;
  if (name == "pread")
    return ReadMode::Pread;
  if (name == "shm")
    return ReadMode::Shm;
  return std::nullopt;
}

const char *nova::rt::readModeName(ReadMode mode) {
  switch (mode) {
  case ReadMode::Auto:
    return "auto";
  case ReadMode::Mmap:
    return "mmap";
  case ReadMode::Pread:
    return "pread";
  case ReadMode::Shm:
    return "shm";
  }
  return "?";
}

namespace {

constexpr const char *kIndexName = "model.safetensors.index.json";

bool endsWith(const std::string &s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// A shard file name from an index: relative, inside the index's directory.
bool checkShardName(const std::string &name, std::string &why) {
  if (name.empty()) {
    why = "is empty";
    return false;
  }
  if (name[0] == '/') {
    why = "is an absolute path";
    return false;
  }
  if (name.find('\0') != std::string::npos) {
    why = "contains a NUL byte";
    return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string token = name.substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (token == "..") {
      why = "leaves the index's directory ('..')";
      return false;
    }
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  return true;
}

/// Resolves `path` (every symlink, `.` and `..`) to an absolute path.
bool resolvePath(const std::string &path, std::string &resolved) {
  char *real = ::realpath(path.c_str(), nullptr);
  if (!real)
    return false;
  resolved = real;
  std::free(real);
  return true;
}

/// A checkpoint's files must stay inside its directory `root` (resolved):
/// a shard that is a symlink, or sits in a symlinked subdirectory, reaching
/// elsewhere is refused before it is opened, so no byte of what it reaches
/// is read or echoed. A path that does not resolve (missing, a dangling
/// link) is left to the open that follows, which names it.
bool checkInsideRoot(const std::string &root, const std::string &path,
                     std::string &error) {
  std::string resolved;
  if (!resolvePath(path, resolved))
    return true;
  if (root == "/" || resolved == root ||
      resolved.compare(0, root.size() + 1, root + "/") == 0)
    return true;
  error = "'" + path +
          "': resolves (through a symlink) outside the checkpoint "
          "directory '" +
          root + "'; refusing to read it";
  return false;
}

/// Filesystems where Grok-1's staging through /dev/shm pays: remote or
/// user-space ones, where many concurrent scattered reads are slow.
bool isRemoteFilesystem(const std::string &path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0)
    return false;
  switch (static_cast<uint64_t>(fs.f_type)) {
  case 0x6969:     // NFS
  case 0x517B:     // SMB
  case 0xFF534D42: // CIFS
  case 0xFE534D42: // SMB2
  case 0x65735546: // FUSE
  case 0x00C36400: // Ceph
  case 0x01021997: // 9P
  case 0x0BD00BD0: // Lustre
  case 0x47504653: // GPFS
    return true;
  default:
    return false;
  }
}

/// Copies `src` to a fresh file in /dev/shm (Grok-1's copy_to_shm); the copy
/// is deleted when the object dies, even on error.
class ShmCopy {
public:
  ShmCopy() = default;
  ShmCopy(const ShmCopy &) = delete;
  ShmCopy &operator=(const ShmCopy &) = delete;
  ~ShmCopy() {
    if (!path.empty())
      ::unlink(path.c_str());
  }

  bool copy(const std::string &src, uint64_t size, std::string &error) {
    struct statvfs vfs;
    if (::statvfs("/dev/shm", &vfs) != 0) {
      error = "cannot stage '" + src + "' in /dev/shm: " + std::strerror(errno);
      return false;
    }
    uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (avail < size) {
      error = "cannot stage '" + src + "' in /dev/shm: it needs " +
              std::to_string(size) + " bytes, " + std::to_string(avail) +
              " are free";
      return false;
    }
    char name[] = "/dev/shm/nova-ckpt-XXXXXX";
    int out = ::mkstemp(name);
    if (out < 0) {
      error = std::string("cannot create a file in /dev/shm: ") +
              std::strerror(errno);
      return false;
    }
    path = name;
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      ::close(out);
      error = "'" + src + "': cannot open: " + std::strerror(errno);
      return false;
    }
    uint64_t done = 0;
    bool ok = true;
    while (done < size) {
      // A kernel-side copy, as Python's shutil.copyfile does on Linux.
      ssize_t n = ::sendfile(out, in, nullptr,
                             std::min<uint64_t>(size - done, 1u << 30));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        error = "cannot stage '" + src + "' in /dev/shm: " +
                (n < 0 ? std::strerror(errno) : "file shrank while copying");
        ok = false;
        break;
      }
      done += static_cast<uint64_t>(n);
    }
    ::close(in);
    ::close(out);
    return ok;
  }

  std::string path;
};

/// One contiguous copy: `len` bytes at `src` (relative to the file's data
/// section) to destination address `dst` (host or device).
struct Piece {
  uint32_t file;
  bool viaMapping;
  uint64_t src;
  uint64_t dst;
  uint64_t len;
};

/// Reads piece `p` into `to`: a memcpy from the file's mapping or positioned
/// reads from `fd`. On failure returns false with `error` set.
bool readPiece(const Piece &p, const SafeTensorsFile &file, int fd, uint8_t *to,
               std::string &error) {
  if (p.viaMapping) {
    std::memcpy(to, file.dataBytes() + p.src, p.len);
    return true;
  }
  uint64_t got = 0;
  while (got < p.len) {
    ssize_t n = ::pread(fd, to + got, p.len - got,
                        static_cast<off_t>(file.dataOffset() + p.src + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "'" + file.path() + "': read failed at byte " +
              std::to_string(file.dataOffset() + p.src + got) + ": " +
              (n < 0 ? std::strerror(errno)
                     : "the file was truncated after it was opened");
      return false;
    }
    got += static_cast<uint64_t>(n);
  }
  return true;
}

/// Appends the pieces that copy box `box` of a row-major tensor (element
/// size `es`, data at `base`) into `dst`, densely.
void slicePieces(uint32_t file, const std::vector<int64_t> &shape,
                 const std::vector<DimRange> &box, uint64_t es, uint64_t base,
                 uint64_t dst, std::vector<Piece> &pieces) {
  size_t rank = shape.size();
  // Trailing dimensions taken whole merge into one contiguous run.
  size_t k = rank;
  uint64_t inner = es;
  while (k > 0 && box[k - 1].begin == 0 && box[k - 1].end == shape[k - 1]) {
    inner *= static_cast<uint64_t>(shape[k - 1]);
    --k;
  }
  if (k == 0) {
    pieces.push_back({file, false, base, dst, inner});
    return;
  }
  // Dimension k-1 is cut: each run is its range times the full inner block.
  uint64_t run =
      inner * static_cast<uint64_t>(box[k - 1].end - box[k - 1].begin);
  if (run == 0)
    return;
  std::vector<uint64_t> strides(rank);
  uint64_t s = es;
  for (size_t d = rank; d-- > 0;) {
    strides[d] = s;
    s *= static_cast<uint64_t>(shape[d]);
  }
  for (size_t d = 0; d + 1 < k; ++d)
    if (box[d].begin == box[d].end)
      return;
  std::vector<int64_t> idx(k - 1);
  for (size_t d = 0; d + 1 < k; ++d)
    idx[d] = box[d].begin;
  while (true) {
    uint64_t off =
        base + static_cast<uint64_t>(box[k - 1].begin) * strides[k - 1];
    for (size_t d = 0; d + 1 < k; ++d)
      off += static_cast<uint64_t>(idx[d]) * strides[d];
    pieces.push_back({file, false, off, dst, run});
    dst += run;
    // Odometer over the cut outer dimensions, last fastest.
    bool advanced = false;
    for (size_t d = k - 1; d-- > 0;) {
      if (++idx[d] < box[d].end) {
        advanced = true;
        break;
      }
      idx[d] = box[d].begin;
    }
    if (!advanced)
      return;
  }
}

/// The progress bar: after a second, redraws one stderr line ten times a
/// second with bytes, rate and ETA; clears nothing on a quiet load.
class ProgressBar {
public:
  ProgressBar(bool enabled, double after, uint64_t total,
              const std::atomic<uint64_t> &done)
      : after(after), total(total), done(done) {
    if (enabled)
      thread = std::thread([this] { run(); });
  }
  ~ProgressBar() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished = true;
    }
    cv.notify_all();
    if (thread.joinable())
      thread.join();
  }

private:
  void run() {
    auto start = std::chrono::steady_clock::now();
    bool shown = false;
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      bool stop = cv.wait_for(lock, std::chrono::milliseconds(100),
                              [this] { return finished; });
      double elapsed = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      if (elapsed >= after || (stop && shown)) {
        draw(elapsed);
        shown = true;
      }
      if (stop)
        break;
    }
    if (shown)
      std::fputc('\n', stderr);
  }

  void draw(double elapsed) {
    uint64_t now = done.load(std::memory_order_relaxed);
    double fraction = total ? static_cast<double>(now) / total : 1.0;
    double rate = elapsed > 0 ? now / elapsed : 0;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(fraction * kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i)
      bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    double eta = rate > 0 ? (total - now) / rate : 0;
    std::fprintf(stderr,
                 "\rloading checkpoint [%s] %3d%%  %.2f / %.2f GB  %.2f GB/s  "
                 "ETA %.1f s ",
                 bar, static_cast<int>(fraction * 100), now / 1e9, total / 1e9,
                 rate / 1e9, eta);
    std::fflush(stderr);
  }

  double after;
  uint64_t total;
  const std::atomic<uint64_t> &done;
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
  std::thread thread;
};

/// Appends the pieces of box `box` of `info` (in file `file`) copied densely
/// to address `dst`. Short runs (a column shard of a row-major matrix) would
/// cost a syscall each: those are copied from the mapping instead.
void addPieces(uint32_t file, const SafeTensorInfo &info,
               const std::vector<DimRange> &box, uint64_t dst,
               std::vector<Piece> &pieces, std::vector<bool> &fileUsed) {
  size_t before = pieces.size();
  slicePieces(file, info.shape, box, dtypeSize(*info.dtype), info.begin, dst,
              pieces);
  if (pieces.size() > before && pieces[before].len < (64u << 10))
    for (size_t p = before; p < pieces.size(); ++p)
      pieces[p].viaMapping = true;
  fileUsed[file] = fileUsed[file] || pieces.size() > before;
}

/// Runs `worker(t)` for t in [0, threads) (0 on the calling thread) under
/// the progress bar.
void runReaders(unsigned threads, const LoadOptions &options, uint64_t total,
                const std::atomic<uint64_t> &done,
                const std::function<void(unsigned)> &worker) {
  bool show = options.progress == Progress::Always ||
              (options.progress == Progress::Auto && ::isatty(2));
  ProgressBar bar(show, options.progressAfterSeconds, total, done);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(worker, t);
  worker(0);
  for (std::thread &t : pool)
    t.join();
}

void fillStats(LoadStats *stats, std::chrono::steady_clock::time_point start,
               uint64_t bytes, unsigned threads, std::vector<ReadMode> modes) {
  if (!stats)
    return;
  stats->bytes = bytes;
  stats->seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  stats->threads = threads;
  stats->fileModes = std::move(modes);
  stats->stagedBytes = 0;
}

unsigned threadCount(const LoadOptions &options) {
  if (options.threads)
    return options.threads;
  unsigned hw = std::thread::hardware_concurrency();
  return std::max(4u, hw);
}

/// The first error of a parallel load; the others stop at their next step.
class FirstError {
public:
  void report(const std::string &e) {
    std::lock_guard<std::mutex> lock(mutex);
    if (message.empty())
      message = e;
    failed = true;
  }
  bool any() const { return failed.load(std::memory_order_relaxed); }
  const std::string &first() const { return message; }

private:
  std::mutex mutex;
  std::string message;
  std::atomic<bool> failed{false};
};

/// Opens `path` for reading; on failure sets `error` and returns -1.
int openForReading(const std::string &path, std::string &error) {
  // The same checks as every input (a regular file, opened without
  // blocking): the file may have been replaced since it was mapped.
  uint64_t size = 0;
  return openRegularFile(path, UINT64_MAX, size, error);
}

/// How a host load reads each checkpoint file: its mode, its descriptor
/// (-1: not read with pread) and its /dev/shm copy if it was staged. Closes
/// the descriptors and deletes the copies when it dies.
struct FileReaders {
  explicit FileReaders(size_t files)
      : modes(files), staged(files), fds(files, -1) {}
  FileReaders(const FileReaders &) = delete;
  FileReaders &operator=(const FileReaders &) = delete;
  ~FileReaders() { close(); }
  void close() {
    for (int &fd : fds)
      if (fd >= 0) {
        ::close(fd);
        fd = -1;
      }
  }
  std::vector<ReadMode> modes;
  std::vector<std::unique_ptr<ShmCopy>> staged;
  std::vector<int> fds;
  /// Bytes copied to /dev/shm (reported only when every copy succeeded).
  uint64_t stagedBytes = 0;
};

using ShardFiles = std::vector<std::unique_ptr<SafeTensorsFile>>;

/// Copies the used files chosen for Shm mode to /dev/shm, in parallel, one
/// file per thread (as Grok-1's ThreadPoolExecutor does). A failed copy is
/// an error in Shm mode; in Auto mode that file is read in place instead.
bool stageFiles(const ShardFiles &shards, const std::vector<bool> &fileUsed,
                const LoadOptions &options, FileReaders &files,
                std::string &error) {
  std::vector<std::string> stageErrors(shards.size());
  std::vector<std::thread> copiers;
  for (size_t f = 0; f < shards.size(); ++f) {
    // A file already in /dev/shm is read in place (as copy_to_shm does).
    if (!fileUsed[f] || files.modes[f] != ReadMode::Shm ||
        shards[f]->path().rfind("/dev/shm/", 0) == 0)
      continue;
    files.staged[f] = std::make_unique<ShmCopy>();
    uint64_t size = shards[f]->dataOffset();
    for (const SafeTensorInfo &info : shards[f]->tensors())
      size = std::max(size, shards[f]->dataOffset() + info.end);
    files.stagedBytes += size;
    copiers.emplace_back([&, f, size] {
      files.staged[f]->copy(shards[f]->path(), size, stageErrors[f]);
    });
  }
  for (std::thread &t : copiers)
    t.join();
  for (size_t f = 0; f < shards.size(); ++f)
    if (!stageErrors[f].empty()) {
      if (options.mode == ReadMode::Shm) {
        error = stageErrors[f];
        return false;
      }
      files.staged[f].reset(); // Auto: read the original instead
      files.modes[f] = ReadMode::Pread;
      files.stagedBytes = 0;
    }
  return true;
}

/// Chooses each file's mode (Auto: Shm on remote filesystems, Pread
/// otherwise), stages the Shm ones and opens every used file not read
/// through its mapping.
bool prepareFiles(const ShardFiles &shards, const std::vector<bool> &fileUsed,
                  const LoadOptions &options, FileReaders &files,
                  std::string &error) {
  for (size_t f = 0; f < shards.size(); ++f) {
    files.modes[f] = options.mode;
    if (files.modes[f] == ReadMode::Auto)
      files.modes[f] = isRemoteFilesystem(shards[f]->path()) ? ReadMode::Shm
                                                             : ReadMode::Pread;
  }
  if (!stageFiles(shards, fileUsed, options, files, error))
    return false;
  for (size_t f = 0; f < shards.size(); ++f) {
    if (!fileUsed[f] || files.modes[f] == ReadMode::Mmap)
      continue;
    const std::string &src =
        files.staged[f] ? files.staged[f]->path : shards[f]->path();
    files.fds[f] = openForReading(src, error);
    if (files.fds[f] < 0)
      return false;
    ::posix_fadvise(files.fds[f], 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  return true;
}

/// Long runs split into `chunk`-byte pieces and short ones grouped into
/// about `chunk` bytes: group g is work[groupEnd[g-1], groupEnd[g]), and
/// threads take groups in order.
void groupWork(const std::vector<Piece> &pieces, uint64_t chunk,
               std::vector<Piece> &work, std::vector<size_t> &groupEnd) {
  uint64_t groupBytes = 0;
  for (const Piece &p : pieces) {
    for (uint64_t off = 0; off < p.len; off += chunk) {
      uint64_t len = std::min(chunk, p.len - off);
      work.push_back({p.file, p.viaMapping, p.src + off, p.dst + off, len});
      groupBytes += len;
      if (groupBytes >= chunk) {
        groupEnd.push_back(work.size());
        groupBytes = 0;
      }
    }
  }
  if (groupEnd.empty() || groupEnd.back() != work.size())
    groupEnd.push_back(work.size());
}

/// Batches of at most one `slotBytes` staging slot: long pieces split,
/// short ones packed; batch b is work[batchEnd[b-1], batchEnd[b]).
void batchWork(const std::vector<Piece> &pieces, uint64_t slotBytes,
               bool mapped, std::vector<Piece> &work,
               std::vector<size_t> &batchEnd) {
  uint64_t inBatch = 0;
  for (Piece p : pieces) {
    p.viaMapping = p.viaMapping || mapped;
    for (uint64_t off = 0; off < p.len; off += slotBytes) {
      uint64_t len = std::min(slotBytes, p.len - off);
      if (inBatch + len > slotBytes) {
        batchEnd.push_back(work.size());
        inBatch = 0;
      }
      work.push_back({p.file, p.viaMapping, p.src + off, p.dst + off, len});
      inBatch += len;
    }
  }
  if (!work.empty())
    batchEnd.push_back(work.size());
}

/// The contiguous ranges [end[i-1], end[i]) of `ends`, handed out in order
/// to whichever thread asks next.
class RangeQueue {
public:
  explicit RangeQueue(const std::vector<size_t> &ends) : ends(ends) {}
  /// The next range's index, or false when none is left.
  bool next(size_t &index, size_t &begin, size_t &end) {
    index = counter.fetch_add(1);
    if (index >= ends.size())
      return false;
    begin = index ? ends[index - 1] : 0;
    end = ends[index];
    return true;
  }

private:
  const std::vector<size_t> &ends;
  std::atomic<size_t> counter{0};
};

/// Reads the grouped `work` into its destinations on `threads` threads.
bool readGroups(const ShardFiles &shards, const std::vector<int> &fds,
                const std::vector<Piece> &work,
                const std::vector<size_t> &groupEnd, unsigned threads,
                const LoadOptions &options, uint64_t totalBytes,
                std::string &error) {
  RangeQueue queue(groupEnd);
  std::atomic<uint64_t> done{0};
  FirstError failure;
  auto worker = [&](unsigned) {
    size_t g, begin, end;
    while (!failure.any() && queue.next(g, begin, end)) {
      for (size_t w = begin; w < end; ++w) {
        const Piece &p = work[w];
        std::string e;
        if (!readPiece(p, *shards[p.file], fds[p.file],
                       reinterpret_cast<uint8_t *>(p.dst), e))
          return failure.report(e);
        done.fetch_add(p.len, std::memory_order_relaxed);
      }
    }
  };
  runReaders(threads, options, totalBytes, done, worker);
  if (failure.any()) {
    error = failure.first();
    return false;
  }
  return true;
}

/// Reads each batch of `work` into one of thread t's two staging slots
/// (2t, 2t+1, alternately) and starts its copies to the device, so a
/// thread reads into one slot while the other one's copies run.
bool copyBatches(const ShardFiles &shards, const std::vector<int> &fds,
                 const std::vector<Piece> &work,
                 const std::vector<size_t> &batchEnd,
                 const std::vector<void *> &slots, StagingSink &sink,
                 unsigned threads, const LoadOptions &options,
                 uint64_t totalBytes, std::string &error) {
  RangeQueue queue(batchEnd);
  std::atomic<uint64_t> done{0};
  FirstError failure;
  auto worker = [&](unsigned t) {
    unsigned turn = 0;
    size_t b, begin, end;
    while (!failure.any() && queue.next(b, begin, end)) {
      unsigned slot = 2 * t + (turn++ & 1);
      std::string e;
      if (!sink.wait(slot, e))
        return failure.report(e);
      auto *base = static_cast<uint8_t *>(slots[slot]);
      uint64_t offset = 0;
      for (size_t w = begin; w < end; ++w) {
        const Piece &p = work[w];
        if (!readPiece(p, *shards[p.file], fds[p.file], base + offset, e) ||
            !sink.copyAsync(slot, p.dst, base + offset, p.len, e))
          return failure.report(e);
        offset += p.len;
        done.fetch_add(p.len, std::memory_order_relaxed);
      }
    }
  };
  runReaders(threads, options, totalBytes, done, worker);
  for (unsigned s = 0; s < slots.size(); ++s) {
    std::string e;
    if (!sink.wait(s, e))
      failure.report(e);
  }
  if (failure.any()) {
    error = failure.first();
    return false;
  }
  return true;
}

/// The bytes request `req` (of a `bytes`-long box `box`) is loaded into:
/// the caller's buffer, checked to be exactly that long, or a fresh one;
/// `result` views it. Null with `error` set on failure.
uint8_t *hostDestination(const LoadRequest &req, DType dtype,
                         const std::vector<DimRange> &box, uint64_t bytes,
                         HostTensor &result, std::string &error) {
  std::vector<int64_t> shape;
  for (const DimRange &range : box)
    shape.push_back(range.end - range.begin);
  if (req.dest || req.destBytes) {
    if (!req.dest || req.destBytes != bytes) {
      error = "tensor \"" + req.name + "\": the destination buffer has " +
              std::to_string(req.destBytes) + " bytes, the " +
              (req.slice.empty() ? "tensor" : "slice") + " needs " +
              std::to_string(bytes);
      return nullptr;
    }
    result = HostTensor::view(dtype, shape, req.dest, nullptr);
    return static_cast<uint8_t *>(req.dest);
  }
  result = HostTensor::uninitialized(dtype, shape);
  if (result.empty()) {
    error = "cannot allocate " + std::to_string(bytes) +
            " bytes for tensor \"" + req.name + "\"";
    return nullptr;
  }
  return result.mutableBytes();
}

/// Where a checkpoint at `path` is listed: one safetensors file (`single`)
/// or an index (`index`); a directory holds model.safetensors.index.json or
/// exactly one .safetensors file.
bool locateCheckpoint(const std::string &path, std::string &single,
                      std::string &index, std::string &error) {
  if (!isDirectory(path)) {
    (endsWith(path, ".json") ? index : single) = path;
    return true;
  }
  std::string candidate = path + "/" + kIndexName;
  if (isFile(candidate)) {
    index = candidate;
    return true;
  }
  DIR *dir = ::opendir(path.c_str());
  if (!dir) {
    error = "'" + path + "': cannot list: " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> found;
  while (dirent *e = ::readdir(dir))
    if (endsWith(e->d_name, ".safetensors"))
      found.push_back(path + "/" + e->d_name);
  ::closedir(dir);
  if (found.size() != 1) {
    error = "'" + path + "': a checkpoint directory needs " + kIndexName +
            " or exactly one .safetensors file, found " +
            std::to_string(found.size());
    return false;
  }
  single = found[0];
  return true;
}

/// What an index says: tensor name -> file name (relative to the index's
/// directory), and the optional metadata.total_size.
struct CheckpointIndex {
  std::map<std::string, CheckpointIndexEntry> weightMap;
  std::optional<uint64_t> totalSize;
  uint64_t totalSizeOffset = 0;
};

/// `rule`, located at `at`'s byte offset in the index.
bool indexProblem(std::string &why, const json::Value &at,
                  const std::string &rule) {
  why = "byte " + std::to_string(at.offset) + ": " + rule;
  return false;
}

/// The index's "weight_map" object, file names checked.
bool parseWeightMap(const json::Value &value,
                    std::map<std::string, CheckpointIndexEntry> &weightMap,
                    std::string &why) {
  if (value.kind != json::Value::Kind::Object)
    return indexProblem(why, value, "\"weight_map\" is not an object");
  for (const auto &[name, file] : value.members()) {
    if (file.kind != json::Value::Kind::String)
      return indexProblem(why, file,
                          "\"weight_map\" entry \"" + printable(name) +
                              "\" is not a file name string");
    std::string rule;
    std::string fileName(file.text());
    if (!checkShardName(fileName, rule))
      return indexProblem(why, file,
                          "file name \"" + printable(fileName) +
                              "\" of tensor \"" + printable(name) + "\" " +
                              rule);
    weightMap[std::string(name)] = {fileName, file.offset};
  }
  return true;
}

/// The index's root object: "metadata" and "weight_map", nothing else.
bool parseIndexRoot(const json::Value &root, CheckpointIndex &out,
                    std::string &why) {
  if (root.kind != json::Value::Kind::Object)
    return indexProblem(why, root, "the index is not a JSON object");
  for (const auto &[key, value] : root.members()) {
    if (key == "metadata") {
      if (value.kind != json::Value::Kind::Object)
        return indexProblem(why, value, "\"metadata\" is not an object");
      if (const json::Value *t = value.get("total_size")) {
        out.totalSize = t->asUInt64();
        out.totalSizeOffset = t->offset;
        if (!out.totalSize)
          return indexProblem(
              why, *t, "\"metadata.total_size\" is not a non-negative integer");
      }
    } else if (key == "weight_map") {
      if (!parseWeightMap(value, out.weightMap, why))
        return false;
    } else {
      return indexProblem(why, value,
                          "unknown key \"" + printable(key) +
                              "\" (an index has \"metadata\" and "
                              "\"weight_map\")");
    }
  }
  if (!root.get("weight_map"))
    return indexProblem(why, root, "missing \"weight_map\"");
  return true;
}

/// Reads and validates the index file `index`.
bool parseIndex(const std::string &index, CheckpointIndex &out,
                std::string &error) {
  std::shared_ptr<const MappedFile> text = MappedFile::open(index, error);
  if (!text)
    return false;
  auto fail = [&](const std::string &message) {
    error = "'" + index + "': " + message;
    return false;
  };
  if (text->size() > kMaxSafeTensorsHeader)
    return fail(std::to_string(text->size()) + " bytes exceeds the limit of " +
                std::to_string(kMaxSafeTensorsHeader) + " bytes");
  json::Document doc;
  std::string why;
  if (!json::parse(
          std::string_view(reinterpret_cast<const char *>(text->data()),
                           text->size()),
          json::Limits(), doc, why))
    return fail("invalid JSON: " + why);
  if (!parseIndexRoot(doc.root(), out, why))
    return fail(why);
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Opening
//===----------------------------------------------------------------------===//

bool Checkpoint::addFile(
    size_t f, const std::string &index,
    const std::map<std::string, CheckpointIndexEntry> &weightMap,
    std::string &error) {
  const SafeTensorsFile &file = *shards[f];
  for (const SafeTensorInfo &info : file.tensors()) {
    if (!index.empty()) {
      auto it = weightMap.find(info.name);
      if (it == weightMap.end()) {
        error = "'" + index + "': tensor \"" + printable(info.name) +
                "\" of '" + file.path() + "' (header byte " +
                std::to_string(info.headerOffset) +
                ") is not listed in \"weight_map\"";
        return false;
      }
      // Compare against the index's name relative to its directory.
      std::string expected = directoryOf(index) + "/" + it->second.file;
      if (expected != file.path()) {
        error = "'" + index + "': byte " + std::to_string(it->second.offset) +
                ": tensor \"" + printable(info.name) + "\" is in '" +
                file.path() + "' but the index maps it to '" +
                printable(it->second.file) + "'";
        return false;
      }
    }
    byName[info.name] = {f, &info};
    all.push_back(&info);
    total += info.end - info.begin;
  }
  for (const auto &[key, value] : file.metadata()) {
    auto [it, inserted] = meta.emplace(key, value);
    if (!inserted && it->second != value) {
      error = "'" + file.path() + "': __metadata__ \"" + printable(key) +
              "\" is \"" + printable(value) +
              "\", an earlier file of the checkpoint says \"" +
              printable(it->second) + "\"";
      return false;
    }
  }
  return true;
}

bool Checkpoint::checkIndex(
    const std::string &index,
    const std::map<std::string, CheckpointIndexEntry> &weightMap,
    std::optional<uint64_t> totalSize, uint64_t totalSizeOffset,
    std::string &error) const {
  for (const auto &[name, entry] : weightMap)
    if (!byName.count(name)) {
      error = "'" + index + "': byte " + std::to_string(entry.offset) +
              ": tensor \"" + printable(name) + "\" is mapped to '" +
              printable(entry.file) + "', which does not contain it";
      return false;
    }
  if (totalSize && *totalSize != total) {
    error = "'" + index + "': byte " + std::to_string(totalSizeOffset) +
            ": \"metadata.total_size\" is " + std::to_string(*totalSize) +
            " but the files hold " + std::to_string(total) +
            " bytes of tensors";
    return false;
  }
  return true;
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &path,
                                             std::string &error) {
  std::string single, index;
  if (!locateCheckpoint(path, single, index, error))
    return nullptr;
  // The files of a directory, or of an index, stay inside that directory
  // (`root`, resolved); a directory's own index is checked before it is read.
  std::string root;
  bool inDirectory = isDirectory(path);
  if (inDirectory || !index.empty()) {
    std::string dir = inDirectory ? path : directoryOf(index);
    if (!resolvePath(dir, root)) {
      error = "'" + dir + "': cannot resolve: " + std::strerror(errno);
      return nullptr;
    }
    if (inDirectory && !index.empty() && !checkInsideRoot(root, index, error))
      return nullptr;
  }
  CheckpointIndex parsed;
  std::vector<std::string> paths = {single};
  if (!index.empty()) {
    if (!parseIndex(index, parsed, error))
      return nullptr;
    // Files in name order: deterministic, and the order they were written.
    std::set<std::string> names;
    for (const auto &[name, entry] : parsed.weightMap)
      names.insert(entry.file);
    paths.clear();
    for (const std::string &file : names)
      paths.push_back(directoryOf(index) + "/" + file);
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  for (const std::string &file : paths) {
    if (!root.empty() && !checkInsideRoot(root, file, error))
      return nullptr;
    std::unique_ptr<SafeTensorsFile> shard = SafeTensorsFile::open(file, error);
    if (!shard)
      return nullptr;
    ckpt->shards.push_back(std::move(shard));
  }
  for (size_t f = 0; f < ckpt->shards.size(); ++f)
    if (!ckpt->addFile(f, index, parsed.weightMap, error))
      return nullptr;
  if (!index.empty() &&
      !ckpt->checkIndex(index, parsed.weightMap, parsed.totalSize,
                        parsed.totalSizeOffset, error))
    return nullptr;
  return ckpt;
}

const SafeTensorInfo *Checkpoint::find(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : it->second.second;
}

const SafeTensorsFile *Checkpoint::fileOf(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : shards[it->second.first].get();
}

bool Checkpoint::view(const std::string &name, HostTensor &out,
                      std::string &error) const {
  const SafeTensorsFile *file = fileOf(name);
  if (!file) {
    error = "the checkpoint has no tensor \"" + printable(name) + "\"";
    return false;
  }
  return file->load(name, out, error);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

bool Checkpoint::resolve(const std::string &name,
                         const std::vector<DimRange> &slice, Resolved &out,
                         std::string &error) const {
  size_t &file = out.file;
  const SafeTensorInfo *&info = out.info;
  std::vector<DimRange> &box = out.box;
  uint64_t &bytes = out.bytes;
  auto it = byName.find(name);
  if (it == byName.end()) {
    error = "the checkpoint has no tensor \"" + printable(name) + "\"";
    return false;
  }
  file = it->second.first;
  info = it->second.second;
  if (!info->dtype) {
    error = "'" + shards[file]->path() + "': tensor \"" + printable(name) +
            "\" has dtype " + info->dtypeName + ", which Nova does not load";
    return false;
  }
  box = slice;
  if (box.empty())
    for (int64_t d : info->shape)
      box.push_back({0, d});
  if (box.size() != info->shape.size()) {
    error = "tensor \"" + printable(name) + "\" has rank " +
            std::to_string(info->shape.size()) + ", the slice has " +
            std::to_string(box.size()) + " ranges";
    return false;
  }
  bytes = dtypeSize(*info->dtype);
  for (size_t d = 0; d < box.size(); ++d) {
    if (box[d].begin < 0 || box[d].begin > box[d].end ||
        box[d].end > info->shape[d]) {
      error = "tensor \"" + printable(name) + "\" " + formatShape(info->shape) +
              ": slice [" + std::to_string(box[d].begin) + ", " +
              std::to_string(box[d].end) + ") of dimension " +
              std::to_string(d) + " is out of range";
      return false;
    }
    bytes *= static_cast<uint64_t>(box[d].end - box[d].begin);
  }
  return true;
}

bool Checkpoint::load(const std::vector<LoadRequest> &requests,
                      std::vector<HostTensor> &out, const LoadOptions &options,
                      std::string &error, LoadStats *stats) const {
  auto start = std::chrono::steady_clock::now();
  // 1. Validate every request and allocate; nothing is written yet.
  std::vector<HostTensor> results(requests.size());
  std::vector<Piece> pieces;
  std::vector<bool> fileUsed(shards.size(), false);
  uint64_t totalBytes = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const LoadRequest &req = requests[i];
    Resolved r;
    if (!resolve(req.name, req.slice, r, error))
      return false;
    uint8_t *dst =
        hostDestination(req, *r.info->dtype, r.box, r.bytes, results[i], error);
    if (!dst)
      return false;
    addPieces(static_cast<uint32_t>(r.file), *r.info, r.box,
              reinterpret_cast<uint64_t>(dst), pieces, fileUsed);
    totalBytes += r.bytes;
  }

  // 2. Per-file mode; stage through /dev/shm where that was chosen.
  FileReaders files(shards.size());
  if (!prepareFiles(shards, fileUsed, options, files, error))
    return false;
  for (Piece &p : pieces)
    if (files.modes[p.file] == ReadMode::Mmap)
      p.viaMapping = true;

  // 3. Split long runs; group short ones; threads take groups in order.
  std::vector<Piece> work;
  std::vector<size_t> groupEnd;
  groupWork(pieces, std::max<uint64_t>(options.chunkBytes, 4096), work,
            groupEnd);
  unsigned threads = std::min<size_t>(threadCount(options), groupEnd.size());
  threads = std::max(threads, 1u);
  bool ok = readGroups(shards, files.fds, work, groupEnd, threads, options,
                       totalBytes, error);
  files.close();
  if (!ok)
    return false;
  out = std::move(results);
  fillStats(stats, start, totalBytes, threads, files.modes);
  if (stats)
    stats->stagedBytes = files.stagedBytes;
  return true;
}

bool Checkpoint::loadToDevice(const std::vector<DeviceLoadRequest> &requests,
                              StagingSink &sink, const LoadOptions &options,
                              std::string &error, LoadStats *stats) const {
  auto start = std::chrono::steady_clock::now();
  std::vector<Piece> pieces;
  std::vector<bool> fileUsed(shards.size(), false);
  uint64_t totalBytes = 0;
  for (const DeviceLoadRequest &req : requests) {
    Resolved r;
    if (!resolve(req.name, req.slice, r, error))
      return false;
    if (!req.address || req.bytes < r.bytes) {
      error = "tensor \"" + req.name + "\": the device buffer has " +
              std::to_string(req.address ? req.bytes : 0) + " bytes, the " +
              (req.slice.empty() ? "tensor" : "slice") + " needs " +
              std::to_string(r.bytes);
      return false;
    }
    addPieces(static_cast<uint32_t>(r.file), *r.info, r.box, req.address,
              pieces, fileUsed);
    totalBytes += r.bytes;
  }
  // Host reads as load() does them (no /dev/shm staging: the pinned slots
  // are the staging).
  bool mapped = options.mode == ReadMode::Mmap;
  FileReaders files(shards.size());
  for (size_t f = 0; f < shards.size(); ++f) {
    if (!fileUsed[f] || mapped)
      continue;
    files.fds[f] = openForReading(shards[f]->path(), error);
    if (files.fds[f] < 0)
      return false;
  }
  uint64_t slotBytes = std::max<uint64_t>(options.chunkBytes, 4096);
  std::vector<Piece> work;
  std::vector<size_t> batchEnd;
  batchWork(pieces, slotBytes, mapped, work, batchEnd);

  unsigned threads = static_cast<unsigned>(std::max<size_t>(
      1, std::min<size_t>(threadCount(options), batchEnd.size())));
  // Two slots per thread: one is read into while the other is copied.
  std::vector<void *> slots;
  if (!batchEnd.empty() &&
      !sink.allocateSlots(2 * threads, slotBytes, slots, error))
    return false;
  bool ok = copyBatches(shards, files.fds, work, batchEnd, slots, sink, threads,
                        options, totalBytes, error);
  if (!slots.empty())
    sink.freeSlots(slots);
  files.close();
  if (!ok)
    return false;
  fillStats(stats, start, totalBytes, threads,
            std::vector<ReadMode>(shards.size(),
                                  mapped ? ReadMode::Mmap : ReadMode::Pread));
  return true;
}

bool Checkpoint::loadAll(std::vector<HostTensor> &out,
                         const LoadOptions &options, std::string &error,
                         LoadStats *stats) const {
  std::vector<LoadRequest> requests;
  for (const SafeTensorInfo *info : all)
    requests.push_back({info->name, {}, nullptr, 0});
  return load(requests, out, options, error, stats);
}

//===----------------------------------------------------------------------===//
// Shards
//===----------------------------------------------------------------------===//

std::vector<LoadRequest> nova::rt::selectTensors(
    const Checkpoint &ckpt,
    const std::function<bool(const SafeTensorInfo &)> &keep) {
  std::vector<LoadRequest> requests;
  for (const SafeTensorInfo *info : ckpt.tensors())
    if (keep(*info))
      requests.push_back({info->name, {}, nullptr, 0});
  return requests;
}

bool nova::rt::shardRequests(
    const Checkpoint &ckpt,
    const std::function<std::optional<PartitionSpec>(const SafeTensorInfo &)>
        &specOf,
    const std::vector<MeshAxis> &mesh, const std::vector<int64_t> &coords,
    std::vector<LoadRequest> &out, std::string &error) {
  std::vector<LoadRequest> requests;
  for (const SafeTensorInfo *info : ckpt.tensors()) {
    std::optional<PartitionSpec> spec = specOf(*info);
    if (!spec)
      continue;
    LoadRequest req{info->name, {}, nullptr, 0};
    if (!shardBox(info->shape, *spec, mesh, coords, req.slice, error)) {
      error = "tensor \"" + info->name + "\": " + error;
      return false;
    }
    requests.push_back(std::move(req));
  }
  out = std::move(requests);
  return true;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

bool nova::rt::checkDeclared(const Checkpoint &ckpt,
                             const std::vector<DeclaredTensor> &declared,
                             std::string &error) {
  std::string problems;
  auto add = [&](const std::string &line) {
    problems += (problems.empty() ? "" : "\n") + line;
  };
  for (const DeclaredTensor &d : declared) {
    std::string where = d.location.empty() ? "" : d.location + ": ";
    std::string want = std::string(dtypeName(d.dtype)) + formatShape(d.shape);
    const SafeTensorInfo *info = ckpt.find(d.name);
    if (!info) {
      add(where + "checkpoint has no tensor '" + printable(d.name) +
          "' (expected " + want + ")");
      continue;
    }
    std::string got =
        (info->dtype ? std::string(dtypeName(*info->dtype)) : info->dtypeName) +
        formatShape(info->shape);
    if (!info->dtype || *info->dtype != d.dtype || info->shape != d.shape)
      add(where + "checkpoint tensor '" + printable(d.name) + "': expected " +
          want + ", got " + got);
    if (!d.scaleLayout.empty()) {
      auto it = ckpt.metadata().find(d.name + ".layout");
      if (it != ckpt.metadata().end() && it->second != d.scaleLayout)
        add(where + "checkpoint tensor '" + printable(d.name) +
            "': scale layout " + printable(it->second) + ", expected " +
            d.scaleLayout);
    }
  }
  if (problems.empty())
    return true;
  error = problems;
  return false;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

bool nova::rt::writeShardedSafeTensors(
    const std::string &dir, const std::string &stem,
    const std::vector<std::pair<std::string, uint64_t>> &sizes,
    const TensorProducer &produce,
    const std::map<std::string, std::string> &metadata, uint64_t maxFileBytes,
    std::string &indexPath, std::string &error) {
  std::vector<std::pair<size_t, size_t>> groups; // [begin, end) of tensors
  uint64_t bytes = 0, total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    uint64_t size = sizes[i].second;
    if (groups.empty() || (bytes > 0 && bytes + size > maxFileBytes)) {
      groups.push_back({i, i});
      bytes = 0;
    }
    groups.back().second = i + 1;
    bytes += size;
    total += size;
  }
  if (groups.empty())
    groups.push_back({0, 0});
  char suffix[64];
  std::string weightMap;
  // All or nothing: every file is written to a temporary, and all are
  // renamed into place (the index last) only once every write succeeded.
  // A failure leaves no file of this call, and the files of an earlier
  // checkpoint in `dir` as they were.
  AtomicFileSet files;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::snprintf(suffix, sizeof(suffix), "-%05zu-of-%05zu.safetensors", g + 1,
                  groups.size());
    std::string name = stem + suffix;
    std::vector<std::pair<std::string, HostTensor>> part;
    if (!produce(groups[g].first, groups[g].second, part, error))
      return false;
    if (part.size() != groups[g].second - groups[g].first) {
      error = "internal error: produced " + std::to_string(part.size()) +
              " tensors for file " + name + ", planned " +
              std::to_string(groups[g].second - groups[g].first);
      return false;
    }
    for (size_t i = 0; i < part.size(); ++i) {
      const auto &planned = sizes[groups[g].first + i];
      if (part[i].first != planned.first ||
          part[i].second.sizeInBytes() != planned.second) {
        error = "internal error: tensor \"" + printable(part[i].first) +
                "\" does not match the plan (\"" + printable(planned.first) +
                "\", " + std::to_string(planned.second) + " bytes)";
        return false;
      }
    }
    std::string temporary;
    if (!files.stage(dir + "/" + name, temporary, error) ||
        !writeSafeTensors(temporary, part, metadata, error))
      return false;
    for (const auto &[tensor, value] : part)
      weightMap += (weightMap.empty() ? "" : ",\n    ") + json::quote(tensor) +
                   ": " + json::quote(name);
  }
  std::string index =
      "{\n  \"metadata\": {\"total_size\": " + std::to_string(total) +
      "},\n  \"weight_map\": {\n    " + weightMap + "\n  }\n}\n";
  std::string path = dir + "/" + stem + ".safetensors.index.json";
  std::string temporary;
  if (!files.stage(path, temporary, error) ||
      !writeFileAtomically(temporary, index, error) || !files.commit(error))
    return false;
  indexPath = path;
  return true;
}

bool nova::rt::writeShardedSafeTensors(
    const std::string &dir, const std::string &stem,
    const std::vector<std::pair<std::string, HostTensor>> &tensors,
    const std::map<std::string, std::string> &metadata, uint64_t maxFileBytes,
    std::string &indexPath, std::string &error) {
  std::vector<std::pair<std::string, uint64_t>> sizes;
  for (const auto &[name, t] : tensors)
    sizes.push_back({name, t.sizeInBytes()});
  auto produce = [&](size_t begin, size_t end,
                     std::vector<std::pair<std::string, HostTensor>> &out,
                     std::string &) {
    out.assign(tensors.begin() + begin, tensors.begin() + end);
    return true;
  };
  return writeShardedSafeTensors(dir, stem, sizes, produce, metadata,
                                 maxFileBytes, indexPath, error);
}
