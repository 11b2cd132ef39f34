//===- Mpi.h - MPI for Nova's SPMD runs, opened at run time -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The host side of a sharded run: every rank of an `mpirun.mpich -n N` job
// initializes MPI, learns its rank, agrees with the others on small values,
// and aborts the whole job when it fails. The library (MPICH's
// libmpich.so.12, or another of the MPICH ABI: Intel MPI, MVAPICH, Cray
// MPICH) is opened with dlopen at first use, RTLD_GLOBAL, so that
// JIT-compiled per-rank code calling MPI_* resolves against it; nothing links
// MPI, and single-process runs never touch it. Handles and constants are
// MPICH's ABI (mpi.h of MPICH 4.0: src/include/mpi.h.in and the datatype
// values its configure computes), checked against the library at init.
// docs/distributed.md describes runs and faults.
//
// Every function but detectLaunch, execMpirun, abort and Watchdog is called
// from the thread that called init() (MPI_THREAD_FUNNELED).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_MPI_H
#define NOVA_RUNTIME_MPI_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nova::rt::mpi {

//===----------------------------------------------------------------------===//
// The MPICH ABI
//===----------------------------------------------------------------------===//

/// MPICH handles are ints.
using Comm = int32_t;
using Datatype = int32_t;
using Op = int32_t;

constexpr Comm kCommWorld = 0x44000000;
constexpr Datatype kByte = 0x4c00010d;
constexpr Datatype kInt32 = 0x4c000405; // MPI_INT
constexpr Datatype kInt64 = 0x4c00083a; // MPI_INT64_T
constexpr Datatype kFloat = 0x4c00040a;
constexpr Datatype kDouble = 0x4c00080b;
constexpr Op kSum = 0x58000003;
constexpr Op kMax = 0x58000001;
constexpr Op kMin = 0x58000002;
constexpr int kThreadFunneled = 1;
constexpr int kSuccess = 0;
constexpr int32_t kErrorsReturn = 0x54000001;
// Also used by the compiler's lowering of collectives to MPI calls
// (nova-collectives-to-mpi), which bakes them into generated code: the one
// list of MPICH ABI handles in the project.
constexpr Datatype kInt8T = 0x4c000137;  // MPI_INT8_T
constexpr Datatype kInt16T = 0x4c000238; // MPI_INT16_T
constexpr Datatype kInt32T = 0x4c000439; // MPI_INT32_T
constexpr int kErrTopology = 10;         // MPI_ERR_TOPOLOGY
/// MPI_IN_PLACE is `(void *)-1`.
constexpr int64_t kInPlace = -1;

/// The library init() opens: $NOVA_MPI_LIBRARY when set (another library of
/// the MPICH ABI), otherwise "libmpich.so.12".
std::string libraryName();

//===----------------------------------------------------------------------===//
// Launch
//===----------------------------------------------------------------------===//

/// What the process manager told this process through its environment.
struct Launch {
  int rank = 0;
  int size = 1;
};

/// Whether an MPI process manager started this process, from the
/// environment alone (MPI is not touched): MPICH's hydra (mpirun.mpich,
/// mpiexec) and Slurm's PMI-2 set PMI_RANK and PMI_SIZE. Sets `launch` to
/// std::nullopt for a plain process. Errors: one of the two variables
/// without the other, values that are not a rank in [0, size), and Open
/// MPI's mpirun (OMPI_COMM_WORLD_SIZE), whose ABI Nova does not speak.
bool detectLaunch(std::optional<Launch> &launch, std::string &error);

/// Replaces this process with `mpirun.mpich -n ranks command...`, found in
/// PATH; returns (false, with `error`) only when that is impossible: no
/// mpirun.mpich, a non-positive rank count, or exec failing. Hydra, the
/// launcher, kills every rank when one exits non-zero or by a signal and
/// exits with that status (docs/distributed.md).
bool execMpirun(int ranks, const std::vector<std::string> &command,
                std::string &error);

//===----------------------------------------------------------------------===//
// The world communicator
//===----------------------------------------------------------------------===//

/// Opens the library (libraryName()) with RTLD_NOW | RTLD_GLOBAL and
/// resolves the functions Nova calls; idempotent. Fails with a message that
/// names the library and how to install it.
bool load(std::string &error);

/// load(), then MPI_Init_thread(MPI_THREAD_FUNNELED) (or adopts an MPI
/// already initialized), MPI_ERRORS_RETURN on MPI_COMM_WORLD so that errors
/// come back here as messages, and a check that the library's datatypes
/// have the MPICH ABI's sizes. Idempotent.
bool init(std::string &error);

/// Whether init() succeeded and finalize() has not run.
bool active();
/// This process's rank in MPI_COMM_WORLD and the number of ranks (0 and 1
/// before init()).
int rank();
int size();
/// MPI_COMM_WORLD: the communicator of the whole mesh (rank r is the mesh
/// device with row-major linear index r).
Comm world();

/// The collectives below are non-blocking MPI calls completed by polling
/// with short sleeps, so waiting ranks leave the cores to the ranks that
/// compute (CI runs four ranks on two cores). Each fails with MPI's message.

/// MPI_Barrier on the world.
bool barrier(std::string &error);
/// MPI_Allreduce in place of `count` elements of `type` at `data`.
bool allReduce(void *data, int64_t count, Datatype type, Op op,
               std::string &error);
/// MPI_Bcast of `count` elements of `type` at `data` from `root`.
bool broadcast(void *data, int64_t count, Datatype type, int root,
               std::string &error);
/// Whether every rank passed the same `value` (one MPI_Allreduce).
bool allEqual(int64_t value, bool &equal, std::string &error);

/// MPI_Abort(MPI_COMM_WORLD, code): the process manager kills every rank and
/// exits with `code`, once what this process wrote to stdout and stderr has
/// reached it. Callable from any thread (MPICH's MPI_Abort only messages the
/// process manager; should it block, SIGALRM ends the process after 10 s).
/// Without an active MPI, exits with `code`.
[[noreturn]] void abort(int code);

/// MPI_Finalize; every rank calls it, after the last collective.
bool finalize(std::string &error);

//===----------------------------------------------------------------------===//
// Bounding waits
//===----------------------------------------------------------------------===//

/// A thread that calls `expired` when a watched section outlives its
/// deadline: a rank blocked in a collective whose peer hangs or died
/// without the process manager noticing. `expired` runs on the watchdog's
/// thread, so of MPI it may call abort() alone (funneled); nova-run prints
/// and aborts the job. Sections nest; the innermost is the one reported.
class Watchdog {
public:
  using Expired = std::function<void(const std::string &what, double seconds)>;
  /// Watches sections for at most `seconds` each; 0 disables the watchdog
  /// (watch() then returns an inert scope and no thread runs).
  Watchdog(double seconds, Expired expired);
  ~Watchdog();
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  double seconds() const { return limit; }

  /// A watched section; ends on destruction.
  class Scope {
  public:
    Scope(Scope &&other) noexcept : dog(other.dog) { other.dog = nullptr; }
    Scope &operator=(Scope &&) = delete;
    ~Scope();

  private:
    friend class Watchdog;
    explicit Scope(Watchdog *dog) : dog(dog) {}
    Watchdog *dog;
  };

  /// Starts a section described by `what` ("waiting for every rank to load
  /// its parameters"), to end within seconds().
  [[nodiscard]] Scope watch(std::string what);

private:
  using Clock = std::chrono::steady_clock;
  struct Section {
    std::string what;
    Clock::time_point deadline;
    bool reported = false;
  };
  void run();
  void end();

  double limit;
  Expired expired;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Section> sections;
  bool stopping = false;
  std::thread thread;
};

} // namespace nova::rt::mpi

#endif // NOVA_RUNTIME_MPI_H
