//===- ModuleParams.cpp - Checkpoints for a module's parameters -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/ModuleParams.h"

#include <cmath>
#include <random>

using namespace nova;
using namespace nova::backends;
using rt::DType;
using rt::HostTensor;

std::vector<std::pair<std::string, HostTensor>>
nova::backends::randomParameters(
    const rt::ModuleManifest &manifest, uint64_t seed,
    std::map<std::string, std::string> &metadata,
    const std::function<void(size_t done, uint64_t bytes)> &progress) {
  uint64_t bytes = 0;
  size_t done = 0;
  auto report = [&] {
    if (progress)
      progress(++done, bytes);
  };
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> int8(-127, 127);
  std::uniform_real_distribution<double> unit(0.5, 1.5);
  std::vector<std::pair<std::string, HostTensor>> tensors;
  auto fill = [&](HostTensor &t, auto valueAt) {
    for (int64_t k = 0; k < t.numElements(); ++k)
      t.setFloatAt(k, valueAt(k));
  };
  for (const rt::ManifestParam &p : manifest.params) {
    const std::vector<int64_t> &shape = p.shape;
    HostTensor value = HostTensor::zeros(p.dtype, shape);
    int64_t rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
    if (p.quantized) {
      fill(value, [&](int64_t) { return int8(rng); });
      HostTensor scales = HostTensor::zeros(p.scalesDType, p.scalesShape);
      double base = 1.0 / (73.0 * std::sqrt(static_cast<double>(rows)));
      fill(scales, [&](int64_t) { return base * unit(rng); });
      bytes += value.sizeInBytes() + scales.sizeInBytes();
      tensors.emplace_back(p.path, std::move(value));
      tensors.emplace_back(p.path + ".scales", std::move(scales));
      metadata[p.path + ".scales.layout"] = p.scaleLayout;
      report();
      continue;
    }
    if (rt::isFloat(p.dtype)) {
      if (shape.size() <= 1)
        fill(value, [&](int64_t) { return 1.0 + 0.1 * normal(rng); });
      else
        fill(value, [&](int64_t) {
          return normal(rng) / std::sqrt(static_cast<double>(shape.back()));
        });
    } else {
      fill(value, [&](int64_t) { return int8(rng); });
    }
    bytes += value.sizeInBytes();
    tensors.emplace_back(p.path, std::move(value));
    report();
  }
  return tensors;
}

std::shared_ptr<rt::Checkpoint>
nova::backends::openDeclared(const rt::ModuleManifest &manifest,
                             const std::string &path, std::string &error) {
  std::shared_ptr<rt::Checkpoint> ckpt = rt::Checkpoint::open(path, error);
  if (!ckpt)
    return nullptr;
  std::string problems;
  if (!rt::checkDeclared(*ckpt, manifest.declaredTensors(), problems)) {
    error = problems;
    return nullptr;
  }
  return ckpt;
}

bool nova::backends::openParameters(const rt::ModuleManifest &manifest,
                                    const std::string &path,
                                    std::shared_ptr<rt::Checkpoint> &ckpt,
                                    interp::ParamLookup &lookup,
                                    std::string &error) {
  if (path.empty()) {
    if (manifest.params.empty()) {
      lookup = [](const std::string &name, HostTensor &, std::string &e) {
        e = "no checkpoint for parameter '" + name + "'";
        return false;
      };
      return true;
    }
    error = "the module has parameters; pass --params CKPT.safetensors (or "
            "create one with --random-params)";
    return false;
  }
  ckpt = openDeclared(manifest, path, error);
  if (!ckpt)
    return false;
  lookup = [ckpt](const std::string &name, HostTensor &out, std::string &e) {
    return ckpt->view(name, out, e);
  };
  return true;
}
