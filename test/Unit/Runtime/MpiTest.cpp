//===- MpiTest.cpp - The MPI layer of SPMD runs ---------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Launch detection, the watchdog and the library's failure modes run in a
// plain process (they touch no MPI). The World tests need an MPI job: ctest
// runs this binary a second and third time under `mpirun.mpich -n 2` and
// `-n 4` (test/Unit/Runtime/CMakeLists.txt); in a plain process they skip.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Mpi.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <map>

using namespace nova::rt;

namespace {

/// Sets (or, for nullptr, unsets) environment variables for one test and
/// restores them afterwards.
class ScopedEnv {
public:
  ScopedEnv(
      std::initializer_list<std::pair<const char *, const char *>> values) {
    for (auto [name, value] : values) {
      const char *old = std::getenv(name);
      saved[name] = old ? std::optional<std::string>(old) : std::nullopt;
      if (value)
        ::setenv(name, value, 1);
      else
        ::unsetenv(name);
    }
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ~ScopedEnv() {
    for (auto &[name, value] : saved)
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
  }

private:
  std::map<std::string, std::optional<std::string>> saved;
};

bool launchedByMpirun() { return std::getenv("PMI_RANK") != nullptr; }

TEST(MpiLaunchTest, PlainProcess) {
  if (launchedByMpirun())
    GTEST_SKIP() << "runs outside mpirun";
  ScopedEnv env({{"PMI_RANK", nullptr},
                 {"PMI_SIZE", nullptr},
                 {"OMPI_COMM_WORLD_SIZE", nullptr}});
  std::optional<mpi::Launch> launch;
  std::string error;
  ASSERT_TRUE(mpi::detectLaunch(launch, error)) << error;
  EXPECT_FALSE(launch.has_value());
  // Nothing touched MPI.
  EXPECT_FALSE(mpi::active());
  EXPECT_EQ(mpi::rank(), 0);
  EXPECT_EQ(mpi::size(), 1);
}

TEST(MpiLaunchTest, Hydra) {
  if (launchedByMpirun())
    GTEST_SKIP() << "runs outside mpirun";
  ScopedEnv env({{"PMI_RANK", "3"}, {"PMI_SIZE", "4"}});
  std::optional<mpi::Launch> launch;
  std::string error;
  ASSERT_TRUE(mpi::detectLaunch(launch, error)) << error;
  ASSERT_TRUE(launch.has_value());
  EXPECT_EQ(launch->rank, 3);
  EXPECT_EQ(launch->size, 4);
}

TEST(MpiLaunchTest, BadEnvironments) {
  if (launchedByMpirun())
    GTEST_SKIP() << "runs outside mpirun";
  std::optional<mpi::Launch> launch;
  std::string error;
  {
    ScopedEnv env({{"PMI_RANK", "1"}, {"PMI_SIZE", nullptr}});
    EXPECT_FALSE(mpi::detectLaunch(launch, error));
    EXPECT_EQ(error, "the process manager set PMI_RANK but not PMI_SIZE");
  }
  {
    ScopedEnv env({{"PMI_RANK", "2"}, {"PMI_SIZE", "2"}});
    EXPECT_FALSE(mpi::detectLaunch(launch, error));
    EXPECT_EQ(error, "the process manager set PMI_RANK=2 and PMI_SIZE=2, "
                     "which is not a rank of the job");
  }
  {
    ScopedEnv env({{"PMI_RANK", "x"}, {"PMI_SIZE", "2"}});
    EXPECT_FALSE(mpi::detectLaunch(launch, error));
    EXPECT_EQ(error, "environment variable PMI_RANK is not an integer: 'x'");
  }
  {
    ScopedEnv env({{"PMI_RANK", nullptr},
                   {"PMI_SIZE", nullptr},
                   {"OMPI_COMM_WORLD_SIZE", "2"}});
    EXPECT_FALSE(mpi::detectLaunch(launch, error));
    EXPECT_NE(error.find("Open MPI"), std::string::npos) << error;
  }
}

TEST(MpiLaunchTest, ExecNeedsMpirun) {
  if (launchedByMpirun())
    GTEST_SKIP() << "runs outside mpirun";
  std::string error;
  EXPECT_FALSE(mpi::execMpirun(0, {"true"}, error));
  EXPECT_EQ(error, "the number of ranks must be positive, got 0");
  ScopedEnv env({{"PATH", "/nonexistent"}});
  EXPECT_FALSE(mpi::execMpirun(2, {"true"}, error));
  EXPECT_EQ(error, "mpirun.mpich is not in PATH; install Debian's mpich "
                   "package (MPICH's process manager, hydra)");
}

TEST(MpiLibraryTest, MissingLibraryIsAClearError) {
  if (launchedByMpirun())
    GTEST_SKIP() << "runs outside mpirun";
  ScopedEnv env({{"NOVA_MPI_LIBRARY", "/nonexistent/libmpich.so.12"}});
  EXPECT_EQ(mpi::libraryName(), "/nonexistent/libmpich.so.12");
  std::string error;
  EXPECT_FALSE(mpi::init(error));
  EXPECT_EQ(error.rfind("cannot load the MPI library "
                        "'/nonexistent/libmpich.so.12': ",
                        0),
            0u)
      << error;
  EXPECT_NE(error.find("install Debian's mpich package"), std::string::npos);
  EXPECT_FALSE(mpi::active());
  // Collectives refuse to run without MPI.
  EXPECT_FALSE(mpi::barrier(error));
  EXPECT_EQ(error, "MPI_Ibarrier needs an initialized MPI (mpi::init)");
}

//===----------------------------------------------------------------------===//
// Watchdog
//===----------------------------------------------------------------------===//

TEST(WatchdogTest, ReportsTheLateSectionOnce) {
  std::mutex m;
  std::vector<std::string> reports;
  mpi::Watchdog dog(0.05, [&](const std::string &what, double seconds) {
    std::lock_guard<std::mutex> lock(m);
    reports.push_back(what + " " + std::to_string(seconds));
  });
  {
    mpi::Watchdog::Scope scope = dog.watch("waiting for the others");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::lock_guard<std::mutex> lock(m);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], "waiting for the others 0.050000");
}

TEST(WatchdogTest, SectionsThatEndInTimeAreNotReported) {
  std::atomic<int> reports{0};
  mpi::Watchdog dog(0.2, [&](const std::string &, double) { ++reports; });
  for (int i = 0; i < 20; ++i) {
    mpi::Watchdog::Scope scope = dog.watch("a short wait");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Each section had its own deadline: 20 x 20 ms outlives one limit.
  EXPECT_EQ(reports.load(), 0);
}

TEST(WatchdogTest, InnermostSectionIsReported) {
  std::mutex m;
  std::vector<std::string> reports;
  mpi::Watchdog dog(0.05, [&](const std::string &what, double) {
    std::lock_guard<std::mutex> lock(m);
    reports.push_back(what);
  });
  {
    mpi::Watchdog::Scope outer = dog.watch("a call");
    {
      mpi::Watchdog::Scope inner = dog.watch("a collective in the call");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::lock_guard<std::mutex> lock(m);
  ASSERT_GE(reports.size(), 1u);
  EXPECT_EQ(reports[0], "a collective in the call");
}

TEST(WatchdogTest, ZeroDisablesIt) {
  std::atomic<int> reports{0};
  mpi::Watchdog dog(0, [&](const std::string &, double) { ++reports; });
  EXPECT_EQ(dog.seconds(), 0);
  {
    mpi::Watchdog::Scope scope = dog.watch("forever");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(reports.load(), 0);
}

//===----------------------------------------------------------------------===//
// World (under mpirun)
//===----------------------------------------------------------------------===//

/// Initializes MPI once for the World tests; finalized at exit.
class World : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!launchedByMpirun())
      return;
    std::string error;
    initialized = mpi::init(error);
    initError = error;
  }
  static void TearDownTestSuite() {
    std::string error;
    if (initialized)
      EXPECT_TRUE(mpi::finalize(error)) << error;
  }
  void SetUp() override {
    if (!launchedByMpirun())
      GTEST_SKIP() << "runs under mpirun.mpich (ctest's MpiWorld tests)";
    ASSERT_TRUE(initialized) << initError;
  }
  static inline bool initialized = false;
  static inline std::string initError;
};

TEST_F(World, RankAndSizeAreThePmiOnes) {
  EXPECT_TRUE(mpi::active());
  EXPECT_EQ(mpi::rank(), std::atoi(std::getenv("PMI_RANK")));
  EXPECT_EQ(mpi::size(), std::atoi(std::getenv("PMI_SIZE")));
  EXPECT_EQ(mpi::world(), 0x44000000);
  std::string error;
  // init is idempotent.
  EXPECT_TRUE(mpi::init(error)) << error;
  EXPECT_TRUE(mpi::barrier(error)) << error;
}

TEST_F(World, JitCodeFindsMpiInTheGlobalScope) {
  // The JIT resolves compiled code's MPI_* calls in the process's global
  // scope, where the library was opened RTLD_GLOBAL; nothing here links it.
  EXPECT_NE(::dlsym(RTLD_DEFAULT, "MPI_Allreduce"), nullptr);
  EXPECT_NE(::dlsym(RTLD_DEFAULT, "MPI_Comm_rank"), nullptr);
}

TEST_F(World, AllReduceInPlace) {
  std::string error;
  int n = mpi::size(), r = mpi::rank();
  int32_t ints[2] = {r, 1};
  ASSERT_TRUE(mpi::allReduce(ints, 2, mpi::kInt32, mpi::kSum, error)) << error;
  EXPECT_EQ(ints[0], n * (n - 1) / 2);
  EXPECT_EQ(ints[1], n);
  int64_t big = (int64_t(1) << 40) + r;
  ASSERT_TRUE(mpi::allReduce(&big, 1, mpi::kInt64, mpi::kMax, error)) << error;
  EXPECT_EQ(big, (int64_t(1) << 40) + n - 1);
  float f = 0.5f * static_cast<float>(r);
  ASSERT_TRUE(mpi::allReduce(&f, 1, mpi::kFloat, mpi::kMin, error)) << error;
  EXPECT_EQ(f, 0.0f);
  double d = 0.25;
  ASSERT_TRUE(mpi::allReduce(&d, 1, mpi::kDouble, mpi::kSum, error)) << error;
  EXPECT_EQ(d, 0.25 * n);
}

TEST_F(World, BroadcastFromEveryRoot) {
  std::string error;
  for (int root = 0; root < mpi::size(); ++root) {
    uint8_t bytes[3] = {0, 0, 0};
    if (mpi::rank() == root)
      bytes[0] = 7, bytes[1] = static_cast<uint8_t>(root), bytes[2] = 9;
    ASSERT_TRUE(mpi::broadcast(bytes, 3, mpi::kByte, root, error)) << error;
    EXPECT_EQ(bytes[0], 7);
    EXPECT_EQ(bytes[1], root);
    EXPECT_EQ(bytes[2], 9);
  }
}

TEST_F(World, AllEqual) {
  std::string error;
  bool equal = false;
  ASSERT_TRUE(mpi::allEqual(-42, equal, error)) << error;
  EXPECT_TRUE(equal);
  ASSERT_TRUE(mpi::allEqual(mpi::rank() == 0 ? 1 : 2, equal, error)) << error;
  EXPECT_EQ(equal, mpi::size() == 1);
}

TEST_F(World, ErrorsComeBackAsMessages) {
  std::string error;
  int32_t x = 0;
  // An invalid root: MPI_ERRORS_RETURN turns it into a message, not an
  // abort.
  EXPECT_FALSE(mpi::broadcast(&x, 1, mpi::kInt32, mpi::size(), error));
  EXPECT_EQ(error.rfind("MPI_Ibcast failed: ", 0), 0u) << error;
  EXPECT_FALSE(mpi::allReduce(&x, -1, mpi::kInt32, mpi::kSum, error));
  EXPECT_EQ(error, "MPI_Iallreduce: element count -1 is outside [0, 2^31 - 1]");
}

} // namespace
