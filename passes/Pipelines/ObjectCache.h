//===- ObjectCache.h - Compiled objects kept between runs -------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Object code keyed by everything that determines it: the module (printed
// before lowering), the target (CPU and features), the pipeline options, the
// LLVM version and the compiler itself (a hash of the binary holding this
// code, so a rebuilt Nova never reads an older Nova's objects). Entries are
// written atomically (a temporary file renamed into place) and pruned by
// LLVM's cache pruning (least recently used beyond the size limit).
// docs/nova-run.md, "Compile cache".
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PIPELINES_OBJECTCACHE_H
#define NOVA_PASSES_PIPELINES_OBJECTCACHE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir::nova {

/// The cache directory: $NOVA_CACHE_DIR, else $XDG_CACHE_HOME/nova, else
/// $HOME/.cache/nova; none when NOVA_CACHE_DIR is "off" or "" or no home is
/// known.
std::optional<std::string> objectCacheDirectory();

/// The key of `module` compiled for `target` (cpu and features, as in the
/// manifest) with `options` (the pipeline's option string): 64 hex digits;
/// none when the compiler's own binary cannot be read (then nothing may be
/// reused).
std::optional<std::string> objectCacheKey(ModuleOp module,
                                          llvm::StringRef target,
                                          llvm::StringRef options);

/// The object stored under `key` in `directory`, if any (an unreadable,
/// truncated or altered entry counts as none: each carries its hash).
std::optional<std::string> readCachedObject(llvm::StringRef directory,
                                            llvm::StringRef key);

/// Stores `object` under `key` (atomically; concurrent writers of one key
/// leave one complete entry), then prunes the directory. Failures are not
/// errors: the cache is an optimization; they are returned as a message for
/// the caller to show as a warning (empty on success).
std::string writeCachedObject(llvm::StringRef directory, llvm::StringRef key,
                              llvm::StringRef object);

} // namespace mlir::nova

#endif // NOVA_PASSES_PIPELINES_OBJECTCACHE_H
