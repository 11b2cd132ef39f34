//===- ObjectCache.cpp - Compiled objects kept between runs ---------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/ObjectCache.h"

#include "nova/runtime/InputFile.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/BLAKE3.h"
#include "llvm/Support/CachePruning.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <sys/time.h>

using namespace mlir;

std::optional<std::string> mlir::nova::objectCacheDirectory() {
  if (const char *dir = std::getenv("NOVA_CACHE_DIR")) {
    llvm::StringRef d(dir);
    if (d.empty() || d == "off")
      return std::nullopt;
    return d.str();
  }
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    llvm::sys::path::append(path, home, ".cache");
  else
    return std::nullopt;
  llvm::sys::path::append(path, "nova");
  return std::string(path);
}

namespace {
/// A stream that hashes what is written to it (the module is never held as
/// text).
class HashStream : public llvm::raw_ostream {
public:
  explicit HashStream(llvm::BLAKE3 &hasher) : hasher(hasher) {
    SetUnbuffered();
  }

private:
  void write_impl(const char *ptr, size_t size) override {
    hasher.update(llvm::StringRef(ptr, size));
    pos += size;
  }
  uint64_t current_pos() const override { return pos; }
  llvm::BLAKE3 &hasher;
  uint64_t pos = 0;
};
} // namespace

/// A hash of the file this code was loaded from (the tool, or the shared
/// library holding the compiler): objects from another build of Nova are
/// never reused.
static const std::string &compilerIdentity() {
  static std::once_flag once;
  static std::string identity;
  std::call_once(once, [] {
    Dl_info info;
    std::string path = "/proc/self/exe";
    if (dladdr(reinterpret_cast<void *>(&compilerIdentity), &info) &&
        info.dli_fname && *info.dli_fname)
      path = info.dli_fname;
    std::string bytes, error;
    if (!::nova::rt::readRegularFile(path, UINT64_MAX, bytes, error)) {
      return; // no identity: nothing is cached
    }
    identity = llvm::toHex(llvm::BLAKE3::hash<32>(
        llvm::arrayRefFromStringRef(llvm::StringRef(bytes))));
  });
  return identity;
}

std::optional<std::string> mlir::nova::objectCacheKey(ModuleOp module,
                                                      llvm::StringRef target,
                                                      llvm::StringRef options) {
  const std::string &identity = compilerIdentity();
  if (identity.empty())
    return std::nullopt;
  llvm::BLAKE3 hasher;
  for (llvm::StringRef part :
       {llvm::StringRef("nova-object-v1"), llvm::StringRef(LLVM_VERSION_STRING),
        llvm::StringRef(identity), target, options}) {
    hasher.update(part);
    hasher.update(llvm::StringRef("\0", 1));
  }
  HashStream os(hasher);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  return llvm::toHex(hasher.final<32>(), /*LowerCase=*/true);
}

static std::string entryPath(llvm::StringRef directory, llvm::StringRef key) {
  llvm::SmallString<256> path(directory);
  // LLVM's pruning considers files named llvmcache-*.
  llvm::sys::path::append(path, "llvmcache-nova-" + key + ".o");
  return std::string(path);
}

/// An entry is the object, then the BLAKE3 hash of the object and this
/// tag: a truncated or altered entry reads as none.
static constexpr llvm::StringLiteral kEntryTag = "nova-object-v1\n";
static constexpr size_t kEntryHashBytes = 32;

static std::string entryHash(llvm::StringRef object) {
  std::array<uint8_t, kEntryHashBytes> hash =
      llvm::BLAKE3::hash<kEntryHashBytes>(llvm::arrayRefFromStringRef(object));
  return std::string(hash.begin(), hash.end());
}

std::optional<std::string>
mlir::nova::readCachedObject(llvm::StringRef directory, llvm::StringRef key) {
  std::string bytes, error, path = entryPath(directory, key);
  if (!llvm::sys::fs::exists(path) ||
      !::nova::rt::readRegularFile(path, uint64_t(4) << 30, bytes, error))
    return std::nullopt;
  size_t trailer = kEntryHashBytes + kEntryTag.size();
  llvm::StringRef entry(bytes);
  if (entry.size() <= trailer || !entry.ends_with(kEntryTag))
    return std::nullopt;
  llvm::StringRef object = entry.drop_back(trailer);
  if (entryHash(object) != entry.substr(object.size(), kEntryHashBytes))
    return std::nullopt;
  // Reading counts as a use for the least-recently-used pruning.
  (void)::utimes(path.c_str(), nullptr);
  bytes.resize(object.size());
  return bytes;
}

std::string mlir::nova::writeCachedObject(llvm::StringRef directory,
                                          llvm::StringRef key,
                                          llvm::StringRef object) {
  if (std::error_code ec = llvm::sys::fs::create_directories(
          directory, /*IgnoreExisting=*/true, llvm::sys::fs::perms::owner_all))
    return "cannot create the compile cache '" + directory.str() +
           "': " + ec.message();
  llvm::SmallString<256> model(directory);
  llvm::sys::path::append(model, "tmp-nova-%%%%%%%%.o");
  llvm::Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(model);
  if (!temp)
    return "cannot write to the compile cache '" + directory.str() +
           "': " + llvm::toString(temp.takeError());
  llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
  os << object << entryHash(object) << kEntryTag;
  os.flush();
  if (os.has_error()) {
    std::string message = "cannot write to the compile cache '" +
                          directory.str() + "': " + os.error().message();
    os.clear_error();
    llvm::consumeError(temp->discard());
    return message;
  }
  if (llvm::Error e = temp->keep(entryPath(directory, key)))
    return "cannot write to the compile cache '" + directory.str() +
           "': " + llvm::toString(std::move(e));
  // At most 2 GiB and 75% of the free space; unused entries go after 30
  // days; the directory is scanned at most once an hour.
  llvm::Expected<llvm::CachePruningPolicy> policy =
      llvm::parseCachePruningPolicy(
          "prune_interval=1h:prune_after=720h:cache_size_bytes=2g:"
          "cache_size=75%");
  if (policy)
    llvm::pruneCache(directory, *policy);
  else
    llvm::consumeError(policy.takeError());
  return std::string();
}
