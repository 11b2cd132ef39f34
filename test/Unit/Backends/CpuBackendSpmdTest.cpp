//===- CpuBackendSpmdTest.cpp - JIT-compiled SPMD modules on MPI ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Runs one rank's program of an SPMD module on the JIT-compiled CPU backend
// with the world communicator, on as many ranks as the test runs on (1 under
// ctest, a singleton MPI process; 2 under mpirun in lit): the mesh has one
// device per rank, each rank binds its shards by their local shape, and the
// outputs must equal the unsharded model's. MPICH is loaded the way the
// runtime does it, dlopen(RTLD_GLOBAL), so that the JIT resolves MPI_* from
// the process.
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Backends.h"

#include "passes/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <dlfcn.h>

using namespace mlir;
namespace backends = ::nova::backends;
namespace interp = ::nova::interp;
namespace rt = ::nova::rt;
using rt::DType;
using rt::HostTensor;

namespace {

/// MPICH's MPI_COMM_WORLD.
constexpr int32_t kCommWorld = 0x44000000;

/// The few MPI functions the test calls, from libmpich.so.12.
struct Mpi {
  int (*init)(int *, char ***) = nullptr;
  int (*finalize)() = nullptr;
  int (*commRank)(int32_t, int *) = nullptr;
  int (*commSize)(int32_t, int *) = nullptr;
  int rank = 0, size = 1;
  bool loaded = false;
};

Mpi &mpi() {
  static Mpi m;
  return m;
}

/// Loads MPICH and initializes MPI once for the whole test program.
class MpiEnvironment : public ::testing::Environment {
public:
  void SetUp() override {
    void *lib = dlopen("libmpich.so.12", RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
      return;
    Mpi &m = mpi();
    m.init = reinterpret_cast<int (*)(int *, char ***)>(dlsym(lib, "MPI_Init"));
    m.finalize = reinterpret_cast<int (*)()>(dlsym(lib, "MPI_Finalize"));
    m.commRank =
        reinterpret_cast<int (*)(int32_t, int *)>(dlsym(lib, "MPI_Comm_rank"));
    m.commSize =
        reinterpret_cast<int (*)(int32_t, int *)>(dlsym(lib, "MPI_Comm_size"));
    if (!m.init || !m.finalize || !m.commRank || !m.commSize ||
        m.init(nullptr, nullptr) != 0)
      return;
    m.commRank(kCommWorld, &m.rank);
    m.commSize(kCommWorld, &m.size);
    m.loaded = true;
  }
  void TearDown() override {
    if (mpi().loaded)
      mpi().finalize();
  }
};

::testing::Environment *const environment =
    ::testing::AddGlobalTestEnvironment(new MpiEnvironment);

/// One rank's program of a column- then row-parallel MLP over `devices`
/// devices (K = 4, H = 2 per device, N = 4), and an all-gather of the hidden
/// activations along their inner dimension.
std::string spmdModule(int devices) {
  return llvm::formatv(R"mlir(
nova.mesh @mesh ["model" = {0}]
func.func @mlp(%x: tensor<2x4xf32> {{nova.name = "x"}, %comm: i32 {{nova.communicator})
    -> (tensor<2x4xf32> {{nova.name = "y"}, tensor<2x{1}xf32> {{nova.name = "h"}) {{
  %w1 = nova.param "w1" sharding <@mesh, [None, "model"]> : tensor<4x2xf32>
  %w2 = nova.param "w2" sharding <@mesh, ["model", None]> : tensor<2x4xf32>
  %h = nova.matmul %x, %w1 : tensor<2x4xf32>, tensor<4x2xf32> -> tensor<2x2xf32>
  %p = nova.matmul %h, %w2 : tensor<2x2xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %c = nova.group_comm %comm over @mesh ["model"] : i32
  %y = nova.all_reduce %p, %c over @mesh ["model"] : tensor<2x4xf32> -> tensor<2x4xf32>
  %hs = nova.all_gather %h, %c over @mesh ["model"] dim 1 : tensor<2x2xf32> -> tensor<2x{1}xf32>
  nova.comm_free %c : i32
  return %y, %hs : tensor<2x4xf32>, tensor<2x{1}xf32>
}
)mlir",
                       devices, 2 * devices)
      .str();
}

/// Global parameters: w1 [4, 2n], w2 [2n, 4]; small integers, exact in f32.
float w1At(int k, int h) { return static_cast<float>((k + 2 * h) % 5 - 2); }
float w2At(int h, int n) { return static_cast<float>((3 * h + n) % 7 - 3); }
float xAt(int i, int k) { return static_cast<float>(i * 4 + k - 3); }

/// This rank's shards, as a checkpoint loader hands them out.
interp::ParamLookup shardLookup(int rank) {
  return [rank](const std::string &name, HostTensor &out, std::string &e) {
    if (name == "w1") {
      out = HostTensor::zeros(DType::F32, {4, 2});
      for (int k = 0; k < 4; ++k)
        for (int h = 0; h < 2; ++h)
          out.setFloatAt(k * 2 + h, w1At(k, 2 * rank + h));
      return true;
    }
    if (name == "w2") {
      out = HostTensor::zeros(DType::F32, {2, 4});
      for (int h = 0; h < 2; ++h)
        for (int n = 0; n < 4; ++n)
          out.setFloatAt(h * 4 + n, w2At(2 * rank + h, n));
      return true;
    }
    e = "no parameter '" + name + "'";
    return false;
  };
}

class CpuBackendSpmdTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!mpi().loaded)
      GTEST_SKIP() << "libmpich.so.12 cannot be loaded or initialized";
    mlir::nova::registerNovaCompilerDialects(registry);
    context = std::make_unique<MLIRContext>(registry);
    module = parseSourceString<ModuleOp>(spmdModule(mpi().size), context.get(),
                                         "spmd.mlir");
    ASSERT_TRUE(module);
  }

  DialectRegistry registry;
  std::unique_ptr<MLIRContext> context;
  OwningOpRef<ModuleOp> module;
};

} // namespace

TEST_F(CpuBackendSpmdTest, RunsOneRankWithItsShards) {
  int rank = mpi().rank, devices = mpi().size;
  std::string error;
  backends::BackendOptions options;
  options.communicator = kCommWorld;
  std::unique_ptr<backends::Backend> cpu =
      backends::createBackend("cpu", *module, error, options);
  ASSERT_TRUE(cpu) << error;
  EXPECT_TRUE(cpu->manifest().isSpmd());
  // Bound by their local shapes: [4, 2] and [2, 4] on every rank.
  ASSERT_TRUE(cpu->prepare("mlp", shardLookup(rank), error)) << error;
  HostTensor x = HostTensor::zeros(DType::F32, {2, 4});
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k)
      x.setFloatAt(i * 4 + k, xAt(i, k));
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(cpu->run("mlp", {x}, outputs, error)) << error;
  ASSERT_EQ(outputs.size(), 2u);
  int hidden = 2 * devices;
  for (int i = 0; i < 2; ++i) {
    std::vector<double> h(hidden, 0);
    for (int j = 0; j < hidden; ++j) {
      for (int k = 0; k < 4; ++k)
        h[j] += xAt(i, k) * w1At(k, j);
      EXPECT_EQ(outputs[1].floatAt(i * hidden + j), h[j])
          << "rank " << rank << ": h[" << i << "][" << j << "]";
    }
    for (int n = 0; n < 4; ++n) {
      double y = 0;
      for (int j = 0; j < hidden; ++j)
        y += h[j] * w2At(j, n);
      EXPECT_EQ(outputs[0].floatAt(i * 4 + n), y)
          << "rank " << rank << ": y[" << i << "][" << n << "]";
    }
  }
}

TEST_F(CpuBackendSpmdTest, CompiledModuleTakesBuffersWithoutTheCommunicator) {
  std::string error;
  backends::BackendOptions options;
  options.communicator = kCommWorld;
  std::unique_ptr<backends::CompiledCpuModule> compiled =
      backends::compileForCpu(*module, error, options);
  ASSERT_TRUE(compiled) << error;
  // x, w1, w2, y, h: the communicator comes from the options.
  EXPECT_EQ(compiled->numBuffers("mlp"), 5);
  EXPECT_FALSE(compiled->call("mlp", {nullptr, nullptr}, error));
  EXPECT_EQ(error, "entry 'mlp' takes 5 buffers, got 2");
}

TEST_F(CpuBackendSpmdTest, ShardsAreBoundByTheirLocalShape) {
  std::string error;
  backends::BackendOptions options;
  options.communicator = kCommWorld;
  std::unique_ptr<backends::Backend> cpu =
      backends::createBackend("cpu", *module, error, options);
  ASSERT_TRUE(cpu) << error;
  // The whole w1 instead of this rank's shard.
  interp::ParamLookup whole = [](const std::string &name, HostTensor &out,
                                 std::string &) {
    out = HostTensor::zeros(DType::F32, name == "w1"
                                            ? std::vector<int64_t>{4, 8}
                                            : std::vector<int64_t>{2, 4});
    return true;
  };
  EXPECT_FALSE(cpu->prepare("mlp", whole, error));
  EXPECT_EQ(error, "checkpoint tensor 'w1': expected f32[4, 2] (this rank's "
                   "shard of [4, " +
                       std::to_string(2 * mpi().size) + "]), got f32[4, 8]");
}

TEST_F(CpuBackendSpmdTest, NeedsACommunicator) {
  std::string error;
  EXPECT_FALSE(backends::createBackend("cpu", *module, error));
  EXPECT_EQ(error, "the module is an SPMD program (its entries take an MPI "
                   "communicator): pass BackendOptions::communicator");
}

TEST_F(CpuBackendSpmdTest, InterpreterRejectsCollectives) {
  std::string error;
  EXPECT_FALSE(backends::createBackend("interp", *module, error));
  // The first collective, named with its location (line 9 of the text).
  EXPECT_EQ(error.rfind("spmd.mlir:9:8: nova.group_comm: the interpreter runs "
                        "unsharded modules only",
                        0),
            0u)
      << error;
}
