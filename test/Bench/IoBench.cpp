//===- IoBench.cpp - Checkpoint loading against memcpy and a naive loop ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova-io-bench writes a Grok-shaped multi-file checkpoint (770 tensors,
// ~3.4 GB: per layer three 16 MiB expert-like weights, four 1 MiB
// attention weights and their scales, norms, a router) and loads it with
// rt::Checkpoint in each read mode, from the page cache and cold (the
// files' pages dropped with posix_fadvise before each load). The limit is
// this machine's memcpy bandwidth measured in the same run (reading a
// cached file is a kernel memcpy at best); the peer is the loop a user
// writes: fopen + fread of each tensor, one thread.
//
//   nova-io-bench [--dir=DIR] [--threads=N] [--chunk-bytes=N]
//                 [--markdown=FILE] [benchmark flags]
//
//===----------------------------------------------------------------------===//

#include "test/Bench/BenchUtil.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Checkpoint.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova;
using namespace nova::bench;

namespace {

std::string benchDir = "/tmp/nova-io-bench";
unsigned readerThreads = 0; // LoadOptions' default
uint64_t chunkBytes = 0;    // LoadOptions' default

struct Fixture {
  std::unique_ptr<rt::Checkpoint> ckpt;
  std::vector<std::unique_ptr<Buffer>> buffers;
  std::vector<rt::LoadRequest> requests;
  uint64_t bytes = 0;
};

/// The checkpoint: written once (reused when a previous run left it).
Fixture &fixture() {
  static Fixture f = [] {
    Fixture f;
    std::string error;
    std::string index = benchDir + "/model.safetensors.index.json";
    f.ckpt = rt::Checkpoint::open(index, error);
    if (!f.ckpt) {
      ::mkdir(benchDir.c_str(), 0777);
      std::vector<std::pair<std::string, uint64_t>> sizes;
      auto add = [&](const std::string &name, uint64_t bytes) {
        sizes.push_back({name, bytes});
      };
      add("language_model/in_out_embed/embeddings", 64u << 20);
      add("language_model/rms_norm/scale", 4096);
      for (int l = 0; l < 64; ++l) {
        std::string p = "transformer/decoder_layer_" + std::to_string(l) + "/";
        for (const char *w : {"moe/linear", "moe/linear_1", "moe/linear_v"})
          add(p + w + "/w", 16u << 20);
        for (const char *w : {"key", "linear", "query", "value"}) {
          add(p + "multi_head_attention/" + w + "/w", 1u << 20);
          add(p + "multi_head_attention/" + w + "/w.scales", 8192);
        }
        for (const char *n :
             {"rms_norm", "rms_norm_1", "rms_norm_2", "rms_norm_3"})
          add(p + n + "/scale", 4096);
        add(p + "router/w", 32768);
      }
      // 770 parameters as Grok-1 has; with the scales, 1,026 tensors.
      auto produce =
          [&](size_t begin, size_t end,
              std::vector<std::pair<std::string, rt::HostTensor>> &out,
              std::string &) {
            for (size_t i = begin; i < end; ++i) {
              rt::HostTensor t = rt::HostTensor::zeros(
                  rt::DType::I8, {static_cast<int64_t>(sizes[i].second)});
              std::memset(t.mutableBytes(), static_cast<int>(i & 0x7f),
                          sizes[i].second);
              out.push_back({sizes[i].first, std::move(t)});
            }
            return true;
          };
      std::fprintf(stderr, "nova-io-bench: writing the checkpoint to %s\n",
                   benchDir.c_str());
      if (!rt::writeShardedSafeTensors(benchDir, "model", sizes, produce, {},
                                       uint64_t(512) << 20, index, error) ||
          !(f.ckpt = rt::Checkpoint::open(index, error))) {
        std::fprintf(stderr, "nova-io-bench: %s\n", error.c_str());
        std::exit(1);
      }
    }
    for (const rt::SafeTensorInfo *info : f.ckpt->tensors()) {
      uint64_t n = info->end - info->begin;
      f.buffers.push_back(std::make_unique<Buffer>(n));
      std::memset(f.buffers.back()->data, 0, n); // pre-faulted
      f.requests.push_back({info->name, {}, f.buffers.back()->data, n});
      f.bytes += n;
    }
    return f;
  }();
  return f;
}

/// Drops the checkpoint's pages from the page cache (clean pages of files
/// we can open: no privileges needed).
void dropCache() {
  for (const auto &file : fixture().ckpt->files()) {
    int fd = ::open(file->path().c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fdatasync(fd);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }
}

/// Warms the page cache: every file read once.
void warmCache() {
  std::vector<char> chunk(8 << 20);
  for (const auto &file : fixture().ckpt->files()) {
    int fd = ::open(file->path().c_str(), O_RDONLY);
    while (fd >= 0 && ::read(fd, chunk.data(), chunk.size()) > 0) {
    }
    if (fd >= 0)
      ::close(fd);
  }
}

/// A load as a process does it once: open (validate every header and the
/// index, map the files), then read every tensor into its buffer.
void novaLoad(rt::ReadMode mode) {
  Fixture &f = fixture();
  rt::LoadOptions options;
  options.mode = mode;
  options.progress = rt::Progress::Never;
  options.threads = readerThreads;
  if (chunkBytes)
    options.chunkBytes = chunkBytes;
  std::vector<rt::HostTensor> out;
  std::string error;
  std::unique_ptr<rt::Checkpoint> ckpt =
      rt::Checkpoint::open(benchDir + "/model.safetensors.index.json", error);
  if (!ckpt || !ckpt->load(f.requests, out, options, error)) {
    std::fprintf(stderr, "nova-io-bench: %s\n", error.c_str());
    std::exit(1);
  }
}

/// What a user writes without Nova: each tensor fread from its file, one
/// thread, into the same buffers.
void naiveLoad() {
  Fixture &f = fixture();
  for (size_t i = 0; i < f.requests.size(); ++i) {
    const rt::SafeTensorInfo *info = f.ckpt->tensors()[i];
    const rt::SafeTensorsFile *file = f.ckpt->fileOf(info->name);
    FILE *fp = std::fopen(file->path().c_str(), "rb");
    if (!fp ||
        std::fseek(fp, static_cast<long>(file->dataOffset() + info->begin),
                   SEEK_SET) != 0 ||
        std::fread(f.requests[i].dest, 1, f.requests[i].destBytes, fp) !=
            f.requests[i].destBytes) {
      std::fprintf(stderr, "nova-io-bench: naive read failed\n");
      std::exit(1);
    }
    std::fclose(fp);
  }
}

/// Loads into memory the runtime allocates (huge-page backed): what a
/// program that owns no buffers yet gets.
void novaLoadFresh() {
  std::vector<rt::LoadRequest> requests = fixture().requests;
  for (rt::LoadRequest &r : requests) {
    r.dest = nullptr;
    r.destBytes = 0;
  }
  rt::LoadOptions options;
  options.progress = rt::Progress::Never;
  std::vector<rt::HostTensor> out;
  std::string error;
  std::unique_ptr<rt::Checkpoint> ckpt =
      rt::Checkpoint::open(benchDir + "/model.safetensors.index.json", error);
  if (!ckpt || !ckpt->load(requests, out, options, error)) {
    std::fprintf(stderr, "nova-io-bench: %s\n", error.c_str());
    std::exit(1);
  }
}

/// The naive loop into freshly malloc'ed buffers.
void naiveLoadFresh() {
  Fixture &f = fixture();
  std::vector<void *> buffers;
  for (size_t i = 0; i < f.requests.size(); ++i) {
    const rt::SafeTensorInfo *info = f.ckpt->tensors()[i];
    const rt::SafeTensorsFile *file = f.ckpt->fileOf(info->name);
    void *dst = std::malloc(f.requests[i].destBytes);
    buffers.push_back(dst);
    FILE *fp = std::fopen(file->path().c_str(), "rb");
    if (!dst || !fp ||
        std::fseek(fp, static_cast<long>(file->dataOffset() + info->begin),
                   SEEK_SET) != 0 ||
        std::fread(dst, 1, f.requests[i].destBytes, fp) !=
            f.requests[i].destBytes) {
      std::fprintf(stderr, "nova-io-bench: naive read failed\n");
      std::exit(1);
    }
    std::fclose(fp);
  }
  for (void *b : buffers)
    std::free(b);
}

struct Row {
  std::string name;
  bool cold;
  std::function<void()> nova, peer;
  std::string peerNote;
  double novaSeconds = 0, peerSeconds = 0;
};

std::vector<Row> &rows() {
  static std::vector<Row> all;
  return all;
}

void addRow(const std::string &name, bool cold, std::function<void()> nova,
            std::function<void()> peer) {
  rows().push_back({name, cold, nova, peer,
                    name.find("runtime-allocated") != std::string::npos
                        ? "malloc + fopen + fread per tensor, 1 thread"
                        : "fopen + fread per tensor, 1 thread"});
  auto reg = [&](const std::string &suffix, std::function<void()> fn) {
    benchmark::RegisterBenchmark((name + "/" + suffix).c_str(),
                                 [fn, cold](benchmark::State &state) {
                                   fixture();
                                   if (!cold)
                                     warmCache();
                                   for (auto _ : state) {
                                     if (cold) {
                                       state.PauseTiming();
                                       dropCache();
                                       state.ResumeTiming();
                                     }
                                     fn();
                                   }
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Repetitions(cold ? 3 : 5)
        ->ReportAggregatesOnly(true)
        ->Iterations(1);
  };
  reg("nova", std::move(nova));
  if (peer)
    reg("peer", std::move(peer));
}

std::string table() {
  const Limits &l = limits();
  Fixture &f = fixture();
  std::ostringstream os;
  os << "Checkpoint: " << f.ckpt->tensors().size() << " tensors, "
     << fmt("%.2f", f.bytes / 1e9) << " GB in " << f.ckpt->files().size()
     << " files. Machine limit measured in this run (" << l.threads
     << " threads): memcpy " << fmt("%.1f", l.memcpyBytesPerSecond / 1e9)
     << " GB/s.\n\n";
  os << "| load | Nova (median) | achieved | fraction of memcpy | peer | peer "
        "(median) | Nova vs peer |\n";
  os << "|---|---|---|---|---|---|---|\n";
  for (const Row &r : rows()) {
    if (r.novaSeconds <= 0)
      continue;
    double rate = f.bytes / r.novaSeconds;
    os << "| " << r.name << " | " << formatTime(r.novaSeconds) << " | "
       << fmt("%.2f GB/s", rate / 1e9) << " | "
       << fmt("%.0f%%", 100 * rate / l.memcpyBytesPerSecond) << " | "
       << (r.peer ? r.peerNote : "-") << " | " << formatTime(r.peerSeconds)
       << " | "
       << (r.peerSeconds > 0 ? fmt("%.2fx", r.peerSeconds / r.novaSeconds)
                             : std::string("-"))
       << " |\n";
  }
  return os.str();
}

} // namespace

int main(int argc, char **argv) {
  std::string markdown;
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--markdown=", 0) == 0)
      markdown = a.substr(11);
    else if (a.rfind("--dir=", 0) == 0)
      benchDir = a.substr(6);
    else if (a.rfind("--threads=", 0) == 0)
      readerThreads = static_cast<unsigned>(std::stoul(a.substr(10)));
    else if (a.rfind("--chunk-bytes=", 0) == 0)
      chunkBytes = std::stoull(a.substr(14));
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data()))
    return 1;
  const Limits &l = limits();
  benchmark::AddCustomContext("nova_memcpy_GBps",
                              fmt("%.1f", l.memcpyBytesPerSecond / 1e9));
  auto mode = [](rt::ReadMode m) { return [m] { novaLoad(m); }; };
  addRow("page cache, pread (auto)", false, mode(rt::ReadMode::Pread),
         naiveLoad);
  addRow("page cache, mmap", false, mode(rt::ReadMode::Mmap), nullptr);
  addRow("page cache, /dev/shm staging", false, mode(rt::ReadMode::Shm),
         nullptr);
  addRow("page cache, pread (auto), runtime-allocated buffers", false,
         novaLoadFresh, naiveLoadFresh);
  addRow("cold (pages dropped), pread", true, mode(rt::ReadMode::Pread),
         naiveLoad);
  MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (Row &r : rows()) {
    r.novaSeconds = reporter.median(r.name, "nova");
    r.peerSeconds = reporter.median(r.name, "peer");
  }
  if (!printTable(table(), markdown, "nova-io-bench"))
    return 1;
  benchmark::Shutdown();
  return 0;
}
