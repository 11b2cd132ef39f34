//===- Mpi.cpp - MPI for Nova's SPMD runs, opened at run time -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Mpi.h"

#include <dlfcn.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

using namespace nova::rt;
using namespace nova::rt::mpi;

namespace {

/// MPI_Request is an int in MPICH; MPI_STATUS_IGNORE is (MPI_Status *)1 and
/// MPI_IN_PLACE (void *)-1 (mpi.h.in).
using Request = int32_t;
void *const kStatusIgnore = reinterpret_cast<void *>(1);
void *const kInPlacePointer = reinterpret_cast<void *>(kInPlace);

/// The MPI functions Nova's host side calls, resolved with dlsym.
struct Api {
  int (*initialized)(int *);
  int (*initThread)(int *, char ***, int, int *);
  int (*commSetErrhandler)(Comm, int32_t);
  int (*commRank)(Comm, int *);
  int (*commSize)(Comm, int *);
  int (*typeSize)(Datatype, int *);
  int (*errorString)(int, char *, int *);
  int (*ibarrier)(Comm, Request *);
  int (*iallreduce)(const void *, void *, int, Datatype, Op, Comm, Request *);
  int (*ibcast)(void *, int, Datatype, int, Comm, Request *);
  int (*test)(Request *, int *, void *);
  int (*abort)(Comm, int);
  int (*finalize)();
};

struct State {
  Api api{};
  bool loaded = false;
  std::string loadError;
  bool initialized = false;
  bool finalized = false;
  int rank = 0;
  int size = 1;
};

State &state() {
  static State s;
  return s;
}

/// MPI's message for `code`.
std::string describe(int code) {
  // MPI_MAX_ERROR_STRING is 1024 in MPICH; leave room for any MPICH-ABI
  // library that chose more.
  char text[8192];
  int length = 0;
  if (state().api.errorString &&
      state().api.errorString(code, text, &length) == kSuccess && length > 0)
    return std::string(text, std::min<size_t>(length, sizeof(text)));
  return "MPI error " + std::to_string(code);
}

bool check(int code, const char *call, std::string &error) {
  if (code == kSuccess)
    return true;
  error = std::string(call) + " failed: " + describe(code);
  return false;
}

bool requireActive(const char *call, std::string &error) {
  if (active())
    return true;
  error = std::string(call) + " needs an initialized MPI (mpi::init)";
  return false;
}

/// Completes `request`, sleeping between polls once the first few find it
/// pending: a waiting rank then costs its core almost nothing.
bool wait(Request &request, const char *call, std::string &error) {
  const Api &api = state().api;
  unsigned polls = 0;
  useconds_t pause = 20;
  for (;;) {
    int done = 0;
    if (!check(api.test(&request, &done, kStatusIgnore), call, error))
      return false;
    if (done)
      return true;
    if (++polls < 64)
      continue;
    ::usleep(pause);
    pause = std::min<useconds_t>(pause * 2, 1000);
  }
}

bool toCount(int64_t count, const char *call, int &out, std::string &error) {
  if (count < 0 || count > INT_MAX) {
    error = std::string(call) + ": element count " + std::to_string(count) +
            " is outside [0, 2^31 - 1]";
    return false;
  }
  out = static_cast<int>(count);
  return true;
}

/// The decimal integer in environment variable `name`, if set.
bool envInt(const char *name, std::optional<long> &out, std::string &error) {
  out.reset();
  const char *text = std::getenv(name);
  if (!text)
    return true;
  errno = 0;
  char *end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (errno || end == text || *end != '\0') {
    error = std::string("environment variable ") + name +
            " is not an integer: '" + text + "'";
    return false;
  }
  out = value;
  return true;
}

} // namespace

std::string nova::rt::mpi::libraryName() {
  const char *name = std::getenv("NOVA_MPI_LIBRARY");
  return name && *name ? name : "libmpich.so.12";
}

//===----------------------------------------------------------------------===//
// Launch
//===----------------------------------------------------------------------===//

bool nova::rt::mpi::detectLaunch(std::optional<Launch> &launch,
                                 std::string &error) {
  launch.reset();
  std::optional<long> rank, size;
  if (!envInt("PMI_RANK", rank, error) || !envInt("PMI_SIZE", size, error))
    return false;
  if (!rank && !size) {
    if (std::getenv("OMPI_COMM_WORLD_SIZE")) {
      error = "started by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE is set); "
              "Nova runs on MPICH: launch with mpirun.mpich";
      return false;
    }
    return true;
  }
  if (!rank || !size) {
    error = std::string("the process manager set ") +
            (rank ? "PMI_RANK but not PMI_SIZE" : "PMI_SIZE but not PMI_RANK");
    return false;
  }
  if (*size < 1 || *size > INT_MAX || *rank < 0 || *rank >= *size) {
    error = "the process manager set PMI_RANK=" + std::to_string(*rank) +
            " and PMI_SIZE=" + std::to_string(*size) +
            ", which is not a rank of the job";
    return false;
  }
  launch = Launch{static_cast<int>(*rank), static_cast<int>(*size)};
  return true;
}

bool nova::rt::mpi::execMpirun(int ranks,
                               const std::vector<std::string> &command,
                               std::string &error) {
  if (ranks < 1) {
    error =
        "the number of ranks must be positive, got " + std::to_string(ranks);
    return false;
  }
  if (command.empty()) {
    error = "no command to launch";
    return false;
  }
  const char *name = "mpirun.mpich";
  std::string found;
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (size_t begin = 0; begin <= dirs.size();) {
    size_t end = dirs.find(':', begin);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      found = candidate;
      break;
    }
    begin = end + 1;
  }
  if (found.empty()) {
    error = std::string(name) +
            " is not in PATH; install Debian's mpich package (MPICH's "
            "process manager, hydra)";
    return false;
  }
  std::vector<std::string> args = {name, "-n", std::to_string(ranks)};
  args.insert(args.end(), command.begin(), command.end());
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(found.c_str(), argv.data());
  error = "cannot run '" + found + "': " + std::strerror(errno);
  return false;
}

//===----------------------------------------------------------------------===//
// The world communicator
//===----------------------------------------------------------------------===//

bool nova::rt::mpi::load(std::string &error) {
  State &s = state();
  if (s.loaded)
    return true;
  if (!s.loadError.empty()) {
    error = s.loadError;
    return false;
  }
  std::string name = libraryName();
  // RTLD_GLOBAL: the JIT resolves the MPI_* calls of compiled per-rank code
  // in the process's global scope.
  void *lib = ::dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    s.loadError = "cannot load the MPI library '" + name + "': " + ::dlerror() +
                  " (install Debian's mpich package, or set NOVA_MPI_LIBRARY "
                  "to a library of the MPICH ABI)";
    error = s.loadError;
    return false;
  }
  // Open MPI's handles are pointers: calling it with MPICH's ints would
  // crash rather than fail.
  if (::dlsym(lib, "ompi_mpi_comm_world")) {
    s.loadError = "'" + name +
                  "' is Open MPI, whose ABI Nova does not speak; use MPICH "
                  "(libmpich.so.12) or another library of the MPICH ABI";
    error = s.loadError;
    return false;
  }
  Api api{};
  auto resolve = [&](auto &fn, const char *symbol) {
    if (!s.loadError.empty())
      return;
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        ::dlsym(lib, symbol));
    if (!fn)
      s.loadError = "the MPI library '" + name + "' lacks " + symbol;
  };
  resolve(api.initialized, "MPI_Initialized");
  resolve(api.initThread, "MPI_Init_thread");
  resolve(api.commSetErrhandler, "MPI_Comm_set_errhandler");
  resolve(api.commRank, "MPI_Comm_rank");
  resolve(api.commSize, "MPI_Comm_size");
  resolve(api.typeSize, "MPI_Type_size");
  resolve(api.errorString, "MPI_Error_string");
  resolve(api.ibarrier, "MPI_Ibarrier");
  resolve(api.iallreduce, "MPI_Iallreduce");
  resolve(api.ibcast, "MPI_Ibcast");
  resolve(api.test, "MPI_Test");
  resolve(api.abort, "MPI_Abort");
  resolve(api.finalize, "MPI_Finalize");
  if (!s.loadError.empty()) {
    error = s.loadError;
    return false;
  }
  s.api = api;
  s.loaded = true;
  return true;
}

bool nova::rt::mpi::init(std::string &error) {
  State &s = state();
  if (s.initialized && !s.finalized)
    return true;
  if (s.finalized) {
    error = "MPI was finalized; it cannot be initialized again";
    return false;
  }
  if (!load(error))
    return false;
  const Api &api = s.api;
  int already = 0;
  if (!check(api.initialized(&already), "MPI_Initialized", error))
    return false;
  if (!already) {
    int provided = -1;
    if (!check(api.initThread(nullptr, nullptr, kThreadFunneled, &provided),
               "MPI_Init_thread", error))
      return false;
    if (provided < kThreadFunneled) {
      error = "MPI_Init_thread provides thread level " +
              std::to_string(provided) +
              "; Nova needs MPI_THREAD_FUNNELED (1): its watchdog and "
              "OpenMP threads run beside the thread that calls MPI";
      return false;
    }
  }
  if (!check(api.commSetErrhandler(kCommWorld, kErrorsReturn),
             "MPI_Comm_set_errhandler", error) ||
      !check(api.commRank(kCommWorld, &s.rank), "MPI_Comm_rank", error) ||
      !check(api.commSize(kCommWorld, &s.size), "MPI_Comm_size", error))
    return false;
  // The handles above are MPICH's; a library of another ABI would read them
  // as other types (or none).
  struct Expected {
    Datatype type;
    const char *name;
    int bytes;
  };
  for (Expected e :
       {Expected{kByte, "MPI_BYTE", 1}, Expected{kInt32, "MPI_INT", 4},
        Expected{kInt64, "MPI_INT64_T", 8}, Expected{kFloat, "MPI_FLOAT", 4},
        Expected{kDouble, "MPI_DOUBLE", 8}}) {
    int bytes = -1;
    if (api.typeSize(e.type, &bytes) != kSuccess || bytes != e.bytes) {
      error = "'" + libraryName() + "' does not have the MPICH ABI: " + e.name +
              " is not a datatype of " + std::to_string(e.bytes) +
              " byte(s) there";
      return false;
    }
  }
  s.initialized = true;
  return true;
}

bool nova::rt::mpi::active() {
  return state().initialized && !state().finalized;
}
int nova::rt::mpi::rank() { return active() ? state().rank : 0; }
int nova::rt::mpi::size() { return active() ? state().size : 1; }
Comm nova::rt::mpi::world() { return kCommWorld; }

bool nova::rt::mpi::barrier(std::string &error) {
  if (!requireActive("MPI_Ibarrier", error))
    return false;
  Request request = 0;
  return check(state().api.ibarrier(kCommWorld, &request), "MPI_Ibarrier",
               error) &&
         wait(request, "MPI_Ibarrier", error);
}

bool nova::rt::mpi::allReduce(void *data, int64_t count, Datatype type, Op op,
                              std::string &error) {
  int n = 0;
  if (!requireActive("MPI_Iallreduce", error) ||
      !toCount(count, "MPI_Iallreduce", n, error))
    return false;
  Request request = 0;
  return check(state().api.iallreduce(kInPlacePointer, data, n, type, op,
                                      kCommWorld, &request),
               "MPI_Iallreduce", error) &&
         wait(request, "MPI_Iallreduce", error);
}

bool nova::rt::mpi::broadcast(void *data, int64_t count, Datatype type,
                              int root, std::string &error) {
  int n = 0;
  if (!requireActive("MPI_Ibcast", error) ||
      !toCount(count, "MPI_Ibcast", n, error))
    return false;
  Request request = 0;
  return check(state().api.ibcast(data, n, type, root, kCommWorld, &request),
               "MPI_Ibcast", error) &&
         wait(request, "MPI_Ibcast", error);
}

bool nova::rt::mpi::allEqual(int64_t value, bool &equal, std::string &error) {
  // max(v) and max(-v) = -min(v) in one call; v is reduced to 62 bits so
  // that negating it cannot overflow.
  int64_t v = value & ((int64_t(1) << 62) - 1);
  int64_t both[2] = {v, -v};
  if (!allReduce(both, 2, kInt64, kMax, error))
    return false;
  equal = both[0] == -both[1];
  return true;
}

void nova::rt::mpi::abort(int code) {
  std::fflush(nullptr);
  if (active()) {
    // Hydra forwards each rank's stdout and stderr through its proxy, and an
    // abort overtakes lines the proxy has not read yet (about one failure
    // in ten on this machine lost its message): wait, at most 2 s, until
    // the pipes are read, and a moment for the proxy to pass them on.
    for (int fd : {STDOUT_FILENO, STDERR_FILENO})
      for (int waited = 0; waited < 2000; ++waited) {
        int unread = 0;
        if (::ioctl(fd, FIONREAD, &unread) != 0 || unread == 0)
          break;
        ::usleep(1000);
      }
    ::usleep(20000);
    // Should MPI_Abort block (it is called beside a thread inside MPI when
    // the watchdog ends a wait), SIGALRM still ends the process.
    ::alarm(10);
    state().api.abort(kCommWorld, code);
  }
  // MPI_Abort does not return; if it did, or without MPI, exit anyway.
  std::_Exit(code);
}

bool nova::rt::mpi::finalize(std::string &error) {
  State &s = state();
  if (!active())
    return true;
  s.finalized = true;
  return check(s.api.finalize(), "MPI_Finalize", error);
}
