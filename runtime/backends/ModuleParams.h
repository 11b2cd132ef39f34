//===- ModuleParams.h - Checkpoints for a module's parameters ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The module side of checkpoints, from its manifest alone: random but valid
// parameters for a module, and a checked, zero-copy lookup into a checkpoint
// for the backends.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_BACKENDS_MODULEPARAMS_H
#define NOVA_RUNTIME_BACKENDS_MODULEPARAMS_H

#include "runtime/interpreter/Interpreter.h"

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/Manifest.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nova::backends {

/// Random but valid values for every parameter of `manifest`: int8 weights
/// uniform in [-127, 127] with scales that give dequantized weights of
/// standard deviation ~1/sqrt(K); float matrices N(0, 1/sqrt(fan-in));
/// vectors (norm scales) around 1. `metadata` gets each scale layout.
/// `progress`, when set, is called after each parameter with the number
/// done and the bytes made so far.
std::vector<std::pair<std::string, rt::HostTensor>> randomParameters(
    const rt::ModuleManifest &manifest, uint64_t seed,
    std::map<std::string, std::string> &metadata,
    const std::function<void(size_t done, uint64_t bytes)> &progress = {});

/// Opens checkpoint `path` and checks it holds every tensor `manifest`
/// declares, with its dtype and whole shape (rt::checkDeclared); nullptr
/// with `error` set otherwise.
std::shared_ptr<rt::Checkpoint> openDeclared(const rt::ModuleManifest &manifest,
                                             const std::string &path,
                                             std::string &error);

/// Opens checkpoint `path` (a file, an index or a directory), checks every
/// declared parameter's dtype, shape and scale layout against it, and sets
/// `lookup` to a zero-copy view into it. With an empty `path`, a module
/// without parameters gets a lookup that fails, one with parameters an
/// error.
bool openParameters(const rt::ModuleManifest &manifest, const std::string &path,
                    std::shared_ptr<rt::Checkpoint> &ckpt,
                    interp::ParamLookup &lookup, std::string &error);

} // namespace nova::backends

#endif // NOVA_RUNTIME_BACKENDS_MODULEPARAMS_H
