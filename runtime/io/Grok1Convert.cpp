//===- Grok1Convert.cpp - Grok-1 checkpoints to Nova safetensors ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Grok1Convert.h"

#include "nova/runtime/MappedFile.h"
#include "nova/runtime/Pickle.h"
#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/Text.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace nova::rt;

std::vector<ManifestParam>
nova::rt::grok1Order(std::vector<ManifestParam> params) {
  auto key = [](const std::string &path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos)
      return std::make_pair(std::string(), path);
    return std::make_pair(path.substr(0, slash), path.substr(slash + 1));
  };
  std::sort(params.begin(), params.end(),
            [&](const ManifestParam &a, const ManifestParam &b) {
              return key(a.path) < key(b.path);
            });
  return params;
}

bool nova::rt::grok1HostSuffix(int64_t processIndex,
                               const std::vector<int64_t> &betweenHosts,
                               unsigned &suffix, std::string &error) {
  if (betweenHosts.empty()) {
    error = "the between-hosts mesh needs at least one axis";
    return false;
  }
  int64_t hosts = 1;
  for (int64_t n : betweenHosts) {
    std::optional<int64_t> product =
        n < 1 ? std::nullopt : checkedMul(hosts, n);
    if (!product) {
      error = "the between-hosts mesh has an axis of size " +
              std::to_string(n) + " (or too many hosts)";
      return false;
    }
    hosts = *product;
  }
  if (processIndex < 0 || processIndex >= hosts) {
    error = "process index " + std::to_string(processIndex) +
            " is outside the " + std::to_string(hosts) +
            " processes of the between-hosts mesh";
    return false;
  }
  const int64_t replicas = 1; // hard-coded in Grok-1's checkpoint.py
  int64_t idx =
      processIndex / (replicas * hosts) * hosts + processIndex % hosts;
  if (idx > 999) {
    error = "host-shard suffix " + std::to_string(idx) +
            " does not fit Grok-1's three digits";
    return false;
  }
  suffix = static_cast<unsigned>(idx);
  return true;
}

std::string nova::rt::grok1FileName(size_t index, unsigned suffix) {
  char name[32];
  std::snprintf(name, sizeof(name), "tensor%05zu_%03u", index, suffix);
  return name;
}

namespace {

/// The tensorNNNNN_III files of one host shard, by NNNNN.
struct GrokFiles {
  std::string dir;
  std::map<unsigned, std::string> byIndex;
  unsigned otherShards = 0;
};

/// `name` as tensorNNNNN_III: (NNNNN, III), or false.
bool parseGrokName(const std::string &name, unsigned &index, unsigned &shard) {
  bool ok =
      name.size() == 15 && name.compare(0, 6, "tensor") == 0 && name[11] == '_';
  for (size_t i = 6; ok && i < 15; ++i)
    if (i != 11)
      ok = std::isdigit(static_cast<unsigned char>(name[i])) != 0;
  if (ok) {
    index = static_cast<unsigned>(std::stoul(name.substr(6, 5)));
    shard = static_cast<unsigned>(std::stoul(name.substr(12, 3)));
  }
  return ok;
}

/// Lists `source` (or its ckpt-0/): only tensorNNNNN_III files allowed.
bool listGrokFiles(const Grok1ConvertOptions &options, GrokFiles &files,
                   std::string &error) {
  files.dir = options.source;
  struct stat st;
  if (::stat((files.dir + "/ckpt-0").c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    files.dir += "/ckpt-0";
  DIR *d = ::opendir(files.dir.c_str());
  if (!d) {
    error = "'" + files.dir + "': cannot list: " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> unexpected;
  while (dirent *e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    unsigned index = 0, shard = 0;
    if (!parseGrokName(name, index, shard))
      unexpected.push_back(name);
    else if (shard != options.hostShard)
      ++files.otherShards;
    else
      files.byIndex[index] = files.dir + "/" + name;
  }
  ::closedir(d);
  std::sort(unexpected.begin(), unexpected.end());
  if (!unexpected.empty()) {
    error = "'" + files.dir + "': unexpected entry '" +
            printable(unexpected.front()) +
            "' (a Grok-1 checkpoint directory holds only tensorNNNNN_III "
            "files)";
    return false;
  }
  return true;
}

/// Every parameter has its file, and no file lacks a parameter.
bool matchFiles(const std::vector<ManifestParam> &params,
                const GrokFiles &files, unsigned hostShard,
                std::string &error) {
  for (size_t i = 0; i < params.size(); ++i)
    if (!files.byIndex.count(static_cast<unsigned>(i))) {
      error = "'" + files.dir + "': missing '" + grok1FileName(i, hostShard) +
              "' for parameter '" + params[i].path + "' (position " +
              std::to_string(i) + " in Grok-1's order)";
      return false;
    }
  if (files.byIndex.size() != params.size()) {
    error = "'" + files.byIndex.rbegin()->second +
            "' has no parameter: the module declares " +
            std::to_string(params.size()) +
            " parameters (tensor00000 to tensor" +
            std::to_string(params.size() - 1) + ")";
    return false;
  }
  return true;
}

/// `t` as declared: same shape; the same dtype, or f32 rounded to nearest
/// even into a declared bf16/f16.
bool conform(HostTensor &t, const DeclaredTensor &want, const std::string &file,
             const std::string &what, std::string &error) {
  std::string expected =
      std::string(dtypeName(want.dtype)) + formatShape(want.shape);
  if (t.shape() != want.shape ||
      (t.dtype() != want.dtype &&
       !(t.dtype() == DType::F32 &&
         (want.dtype == DType::BF16 || want.dtype == DType::F16)))) {
    error = "'" + file + "': " + what + " of parameter '" + want.name +
            "' is " + t.describe() + ", the module declares " + expected;
    return false;
  }
  if (t.dtype() != want.dtype) {
    HostTensor cast = HostTensor::zeros(want.dtype, want.shape);
    for (int64_t i = 0; i < t.numElements(); ++i)
      cast.setFloatAt(i, t.floatAt(i));
    t = std::move(cast);
  }
  return true;
}

/// Reads and checks one parameter's pickle.
bool convertOne(const ManifestParam &param, const std::string &file,
                GrokTensor &out, std::string &error) {
  std::shared_ptr<const MappedFile> mapped = MappedFile::open(file, error);
  if (!mapped)
    return false;
  GrokTensor value;
  if (!readGrokPickle(mapped->data(), mapped->size(), file, value, error))
    return false;
  if (value.quantized != param.quantized) {
    error = "'" + file + "': parameter '" + param.path + "' is " +
            (param.quantized ? "quantized" : "not quantized") +
            " in the module, the file holds " +
            (value.quantized ? "a QuantizedWeight8bit" : "a plain array");
    return false;
  }
  std::vector<DeclaredTensor> declared = param.declaredTensors();
  if (!conform(value.value, declared[0], file,
               param.quantized ? "the weight" : "the array", error))
    return false;
  if (param.quantized &&
      !conform(value.scales, declared[1], file, "the scales", error))
    return false;
  out = std::move(value);
  return true;
}

/// The output tensors in order (each parameter's value, then its scales),
/// produced a file's worth at a time on a pool of reader threads.
class Plan {
public:
  Plan(const std::vector<ManifestParam> &params, const GrokFiles &files,
       unsigned workers)
      : params(params), files(files), workers(workers) {
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<DeclaredTensor> declared = params[i].declaredTensors();
      for (size_t t = 0; t < declared.size(); ++t) {
        uint64_t n = dtypeSize(declared[t].dtype);
        for (int64_t s : declared[t].shape)
          n *= static_cast<uint64_t>(s);
        sizes.push_back({declared[t].name, n});
        owner.push_back({i, t == 1});
        if (t == 1)
          metadata[declared[t].name + ".layout"] = declared[t].scaleLayout;
      }
    }
  }

  std::vector<std::pair<std::string, uint64_t>> sizes;
  std::map<std::string, std::string> metadata = {{"format", "nova"},
                                                 {"source", "grok-1"}};
  uint64_t converted = 0;

  /// Tensors [begin, end) of the plan.
  bool produce(size_t begin, size_t end,
               std::vector<std::pair<std::string, HostTensor>> &out,
               std::string &error) {
    std::vector<size_t> needed;
    for (size_t i = begin; i < end; ++i)
      if (needed.empty() || needed.back() != owner[i].first)
        needed.push_back(owner[i].first);
    std::vector<GrokTensor> values(needed.size());
    if (!readAll(needed, values, error))
      return false;
    for (size_t i = begin; i < end; ++i) {
      auto [p, isScales] = owner[i];
      size_t k = std::find(needed.begin(), needed.end(), p) - needed.begin();
      out.push_back(
          {sizes[i].first, isScales ? values[k].scales : values[k].value});
      converted += sizes[i].second;
    }
    return true;
  }

private:
  bool readAll(const std::vector<size_t> &needed,
               std::vector<GrokTensor> &values, std::string &error) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    auto work = [&] {
      for (size_t k; !failed && (k = next.fetch_add(1)) < needed.size();) {
        std::string e;
        if (!convertOne(params[needed[k]], files.byIndex.at(needed[k]),
                        values[k], e)) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!failed)
            error = e;
          failed = true;
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < std::min<size_t>(workers, needed.size()); ++t)
      pool.emplace_back(work);
    work();
    for (std::thread &t : pool)
      t.join();
    return !failed;
  }

  const std::vector<ManifestParam> &params;
  const GrokFiles &files;
  unsigned workers;
  /// Per planned tensor: (parameter index, is scales).
  std::vector<std::pair<size_t, bool>> owner;
};

} // namespace

bool nova::rt::convertGrok1(const ModuleManifest &manifest,
                            const Grok1ConvertOptions &options,
                            Grok1ConvertResult &result, std::string &error) {
  std::vector<ManifestParam> params = grok1Order(manifest.params);
  GrokFiles files;
  if (!listGrokFiles(options, files, error) ||
      !matchFiles(params, files, options.hostShard, error))
    return false;
  unsigned workers = options.threads
                         ? options.threads
                         : std::max(4u, std::thread::hardware_concurrency());
  Plan plan(params, files, workers);
  result.written = options.output;
  const std::string &out = options.output;
  if (out.size() >= 12 &&
      out.compare(out.size() - 12, 12, ".safetensors") == 0) {
    std::vector<std::pair<std::string, HostTensor>> tensors;
    if (!plan.produce(0, plan.sizes.size(), tensors, error) ||
        !writeSafeTensors(out, tensors, plan.metadata, error))
      return false;
  } else {
    bool created = ::mkdir(out.c_str(), 0777) == 0;
    if (!created && errno != EEXIST) {
      error = "cannot create '" + out + "': " + std::strerror(errno);
      return false;
    }
    TensorProducer produce = [&](size_t begin, size_t end, auto &tensors,
                                 std::string &e) {
      return plan.produce(begin, end, tensors, e);
    };
    // All or nothing: a failure leaves none of the files (and no directory
    // this call created).
    if (!writeShardedSafeTensors(out, "model", plan.sizes, produce,
                                 plan.metadata, options.maxFileBytes,
                                 result.written, error)) {
      if (created)
        ::rmdir(out.c_str());
      return false;
    }
  }
  result.parameters = params.size();
  result.tensors = plan.sizes.size();
  result.bytes = plan.converted;
  result.otherShards = files.otherShards;
  return true;
}
