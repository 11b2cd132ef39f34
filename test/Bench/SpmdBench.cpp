//===- SpmdBench.cpp - A Grok-1 decoder layer on 1 and N ranks ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova-spmd-bench: one decode step of a Grok-1-shaped decoder layer
// (test/Bench/Inputs/grok1-layer.yaml) partitioned by Grok-1's rules over
// as many ranks as mpirun.mpich starts (one rank: the unpartitioned
// program). Per step it reports, from rank 0 and the slowest rank: the step
// time (Google Benchmark, fixed iterations so that every rank makes the same
// calls), the time spent inside the MPI calls of the generated code and the
// bytes they moved (counted by interposing MPI_Allreduce / MPI_Allgather
// through MPI's profiling interface), the bytes --explain-collectives
// predicts, and the DRAM floor: the weight bytes every rank reads per step
// over this machine's read bandwidth (measured in the same run; on one
// machine the ranks share it).
//
//   mpirun.mpich -n 2 build/bin/nova-spmd-bench test/Bench/Inputs
//
// scripts/bench.sh spmd runs it on 1 and 2 ranks and writes the table into
// docs/benchmarks.md.
//
//===----------------------------------------------------------------------===//

#include "test/Bench/BenchUtil.h"

#include "passes/Driver/LoadModel.h"
#include "passes/Partition/Passes.h"
#include "passes/Passes.h"
#include "runtime/backends/Spmd.h"

#include "nova/runtime/Mpi.h"

#include "dialect/NovaOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/InitAllPasses.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <random>

using namespace nova;

//===----------------------------------------------------------------------===//
// MPI profiling interface: the generated code's collectives, timed
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int64_t> commNanos{0}, commBytes{0}, commCalls{0};
double commBytesPerStep = 0, commMsPerStep = 0;

int64_t datatypeSize(int32_t type) {
  switch (type) {
  case rt::mpi::kByte:
    return 1;
  case rt::mpi::kInt32:
  case rt::mpi::kFloat:
    return 4;
  case rt::mpi::kInt64:
  case rt::mpi::kDouble:
    return 8;
  default:
    return 0;
  }
}

template <typename Fn> Fn pmpi(const char *name) {
  // MPICH's PMPI_ entry points, from the library the runtime opened with
  // RTLD_GLOBAL (this executable defines the MPI_ names).
  static void *self = dlopen(nullptr, RTLD_NOW);
  void *f = dlsym(RTLD_DEFAULT, name);
  (void)self;
  if (!f) {
    std::fprintf(stderr, "nova-spmd-bench: no %s in the MPI library\n", name);
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

struct Timed {
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  ~Timed() {
    commNanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    ++commCalls;
  }
};
} // namespace

extern "C" {
// The two collectives Nova's generated code calls (nova-collectives-to-mpi),
// exported from this executable so that the JIT binds them here.
__attribute__((visibility("default"))) int
MPI_Allreduce(const void *send, void *recv, int count, int32_t type, int32_t op,
              int32_t comm) {
  using Fn = int (*)(const void *, void *, int, int32_t, int32_t, int32_t);
  static Fn real = pmpi<Fn>("PMPI_Allreduce");
  Timed t;
  commBytes += static_cast<int64_t>(count) * datatypeSize(type);
  return real(send, recv, count, type, op, comm);
}
__attribute__((visibility("default"))) int
MPI_Allgather(const void *send, int sendCount, int32_t sendType, void *recv,
              int recvCount, int32_t recvType, int32_t comm) {
  using Fn = int (*)(const void *, int, int32_t, void *, int, int32_t, int32_t);
  static Fn real = pmpi<Fn>("PMPI_Allgather");
  Timed t;
  commBytes += static_cast<int64_t>(sendCount) * datatypeSize(sendType);
  return real(send, sendCount, sendType, recv, recvCount, recvType, comm);
}
}

namespace {

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "nova-spmd-bench: %s\n", message.c_str());
  rt::mpi::abort(1);
}

struct Layer {
  std::unique_ptr<mlir::nova::ToolContext> tool;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  rt::ModuleManifest manifest;
  backends::RankPlacement placement;
  backends::RankProgram program;
  std::unique_ptr<backends::Backend> backend;
  std::map<std::string, rt::HostTensor> params;
  std::vector<rt::HostTensor> inputs;
  int64_t weightBytes = 0;   // parameter bytes this rank holds
  int64_t analyticBytes = 0; // --explain-collectives' payload per call
};

/// Deterministic, small values: int8 in [-64, 63], bf16/f32 around 0.01.
rt::HostTensor randomTensor(rt::DType dtype, const std::vector<int64_t> &shape,
                            uint64_t seed) {
  rt::HostTensor t = rt::HostTensor::zeros(dtype, shape);
  std::mt19937_64 rng(seed);
  int64_t n = t.numElements();
  if (dtype == rt::DType::I8) {
    int8_t *p = t.mutableAs<int8_t>();
    for (int64_t i = 0; i < n; i += 8) {
      uint64_t r = rng();
      for (int64_t j = 0; j < 8 && i + j < n; ++j)
        p[i + j] = static_cast<int8_t>(((r >> (8 * j)) & 0x7f) - 64);
    }
    return t;
  }
  for (int64_t i = 0; i < n; ++i)
    t.setFloatAt(i, 0.01 * (static_cast<double>(rng() % 2001) / 1000.0 - 1.0) +
                        (dtype == rt::DType::F32 ? 1.0 : 0.0));
  return t;
}

Layer &layer() {
  static Layer *l = nullptr;
  if (l)
    return *l;
  l = new Layer();
  return *l;
}

void setUp(const std::string &inputs, int rank, int ranks) {
  Layer &L = layer();
  L.tool = std::make_unique<mlir::nova::ToolContext>();
  mlir::nova::LoadModelOptions options;
  options.rulesFile =
      inputs + "/grok1-layer-rules-" + std::to_string(ranks) + ".yaml";
  options.maxSpecBytes = 1 << 20;
  options.tool = "nova-spmd-bench";
  L.module =
      mlir::nova::loadModel(L.tool->context, L.tool->sourceMgr,
                            inputs + "/grok1-layer.yaml", options, L.manifest);
  if (!L.module)
    die("cannot load " + inputs + "/grok1-layer.yaml with " +
        options.rulesFile + " (one rules file per rank count: 1 and 2)");
  std::string error;
  if (!backends::placeRank(L.manifest, rank, ranks, L.placement, error) ||
      !backends::buildRankProgram(*L.module, L.manifest, L.placement, "cpu",
                                  L.program, error) ||
      !(L.backend = L.program.createBackend("cpu", error)))
    die(error);
  // The collectives of the rank's program, as --explain-collectives counts
  // them.
  L.program.module->walk([&](mlir::Operation *op) {
    if (mlir::isa<mlir::nova::AllReduceOp, mlir::nova::AllGatherOp>(op))
      L.analyticBytes += mlir::nova::collectiveTraffic(op).payloadBytes;
  });
  const rt::ManifestEntry *entry = L.backend->manifest().entry("forward");
  if (!entry)
    die("the layer has no 'forward' entry");
  uint64_t seed = 1;
  for (const rt::ManifestArg &arg : entry->args) {
    if (arg.role == rt::ArgRole::Parameter || arg.role == rt::ArgRole::Scales) {
      L.params[arg.name] = randomTensor(arg.dtype, arg.shape, seed++);
      L.weightBytes += L.params[arg.name].sizeInBytes();
    } else if (arg.isInput()) {
      rt::HostTensor t = randomTensor(arg.dtype, arg.shape, seed++);
      if (arg.name == "positions")
        t = rt::HostTensor::zeros(arg.dtype, arg.shape), t.setIntAt(0, 100);
      L.inputs.push_back(std::move(t));
    }
  }
  auto lookup = [&L](const std::string &name, rt::HostTensor &out,
                     std::string &why) {
    auto it = L.params.find(name);
    if (it == L.params.end()) {
      why = "no parameter '" + name + "'";
      return false;
    }
    out = rt::HostTensor::view(it->second.dtype(), it->second.shape(),
                               it->second.bytes(), nullptr);
    return true;
  };
  if (!L.backend->prepare("forward", lookup, error))
    die(error);
}

void BM_DecodeStep(benchmark::State &state) {
  Layer &L = layer();
  std::vector<rt::HostTensor> outputs;
  std::string error;
  commNanos = 0;
  commBytes = 0;
  commCalls = 0;
  for (auto _ : state) {
    if (!L.backend->run("forward", L.inputs, outputs, error))
      die(error);
  }
  double steps = static_cast<double>(state.iterations());
  // Every rank's weights are read once per step (the selected experts of
  // the MoE only: 2 of 8).
  state.counters["comm_ms_per_step"] = commNanos / 1e6 / steps;
  state.counters["bytes_per_step"] = commBytes / steps;
  commBytesPerStep = commBytes / steps;
  commMsPerStep = commNanos / 1e6 / steps;
  state.counters["analytic_bytes"] = static_cast<double>(L.analyticBytes);
  state.counters["rank_weight_MB"] = L.weightBytes / 1e6;
  state.counters["calls_per_step"] = commCalls / steps;
}

/// Bytes of weights all ranks read per decode step: attention and router
/// whole, the MoE's 2 selected experts of 8.
double bytesReadPerStep(const Layer &L, int ranks) {
  double moe = 0, other = 0;
  for (const auto &[name, t] : L.params)
    (name.find("/moe/") != std::string::npos ? moe : other) += t.sizeInBytes();
  return ranks * (other + moe * 2.0 / 8.0);
}

} // namespace

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::nova::registerNovaPasses();
  std::string error;
  std::optional<rt::mpi::Launch> launch;
  if (!rt::mpi::detectLaunch(launch, error))
    die(error);
  if (!launch)
    die("run it under mpirun.mpich: mpirun.mpich -n R nova-spmd-bench "
        "test/Bench/Inputs (R = 1 or 2)");
  if (!rt::mpi::init(error))
    die(error);
  int rank = rt::mpi::rank(), ranks = rt::mpi::size();
  benchmark::Initialize(&argc, argv);
  if (argc < 2)
    die("usage: nova-spmd-bench INPUTS_DIR [benchmark flags]");
  // The machine's limits, measured by rank 0 alone (all cores) while the
  // others wait, then shared.
  double readBandwidth = 0;
  if (rank == 0)
    readBandwidth = bench::limits().readBytesPerSecond;
  if (!rt::mpi::broadcast(&readBandwidth, 1, rt::mpi::kDouble, 0, error))
    die(error);
  setUp(argv[1], rank, ranks);
  benchmark::RegisterBenchmark("decode_step/nova", BM_DecodeStep)
      ->Iterations(20)
      ->Repetitions(5)
      ->ReportAggregatesOnly(true)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  bench::MedianReporter reporter;
  // The other ranks run the same iterations (their collectives pair with
  // rank 0's) and report nothing.
  struct Silent : benchmark::BenchmarkReporter {
    bool ReportContext(const Context &) override { return true; }
    void ReportRuns(const std::vector<Run> &) override {}
  } silent;
  if (rank == 0)
    benchmark::RunSpecifiedBenchmarks(&reporter);
  else
    benchmark::RunSpecifiedBenchmarks(&silent);
  if (rank == 0) {
    double step = reporter.median("decode_step", "nova");
    double bytes = bytesReadPerStep(layer(), ranks);
    double floor = bytes / readBandwidth;
    // One markdown row (scripts/bench.sh spmd assembles the table).
    std::printf("\n| %d | %s | %s (%.0f MB at %.1f GB/s) | %.0f %% | %.2f ms "
                "| %.0f | %lld | %.0f MB |\n",
                ranks, bench::formatTime(step).c_str(),
                bench::formatTime(floor).c_str(), bytes / 1e6,
                readBandwidth / 1e9, step > 0 ? 100.0 * floor / step : 0.0,
                commMsPerStep, commBytesPerStep,
                static_cast<long long>(layer().analyticBytes),
                layer().weightBytes / 1e6);
  }
  if (!rt::mpi::barrier(error))
    die(error);
  rt::mpi::finalize(error);
  return 0;
}
