//===- Watchdog.cpp - Bounding a rank's waits on the others ---------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Mpi.h"

using namespace nova::rt::mpi;

Watchdog::Watchdog(double seconds, Expired expired)
    : limit(seconds > 0 ? seconds : 0), expired(std::move(expired)) {
  if (limit > 0)
    thread = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  if (thread.joinable())
    thread.join();
}

Watchdog::Scope Watchdog::watch(std::string what) {
  if (limit <= 0)
    return Scope(nullptr);
  auto span = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limit));
  {
    std::lock_guard<std::mutex> lock(mutex);
    sections.push_back({std::move(what), Clock::now() + span});
  }
  changed.notify_all();
  return Scope(this);
}

void Watchdog::end() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    sections.pop_back();
  }
  changed.notify_all();
}

Watchdog::Scope::~Scope() {
  if (dog)
    dog->end();
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex);
  while (!stopping) {
    if (sections.empty() || sections.back().reported) {
      changed.wait(lock);
      continue;
    }
    Clock::time_point deadline = sections.back().deadline;
    if (Clock::now() < deadline) {
      changed.wait_until(lock, deadline);
      continue;
    }
    // Report once; `expired` normally ends the process. The lock is
    // released meanwhile so that the watched thread is never blocked by it.
    Section &late = sections.back();
    late.reported = true;
    std::string what = late.what;
    lock.unlock();
    expired(what, limit);
    lock.lock();
  }
}
