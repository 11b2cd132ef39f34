//===- CApi.cpp - Nova's runtime C API ------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/nova_runtime.h"

#include <cstring>

using namespace nova::rt;

struct nova_checkpoint {
  std::unique_ptr<Checkpoint> ckpt;
};

namespace {

void report(const std::string &message, char *error, size_t errorSize) {
  if (error && errorSize) {
    std::strncpy(error, message.c_str(), errorSize - 1);
    error[errorSize - 1] = '\0';
  }
}

} // namespace

extern "C" nova_checkpoint *nova_checkpoint_open(const char *path, char *error,
                                                 size_t errorSize) {
  std::string message = "no checkpoint path given";
  std::unique_ptr<Checkpoint> ckpt =
      path ? Checkpoint::open(path, message) : nullptr;
  if (!ckpt) {
    report(message, error, errorSize);
    return nullptr;
  }
  return new nova_checkpoint{std::move(ckpt)};
}

extern "C" const void *nova_checkpoint_tensor(const nova_checkpoint *ckpt,
                                              const char *name, size_t *bytes,
                                              const char **dtype, int *rank,
                                              int64_t shape[8]) {
  if (!ckpt || !name)
    return nullptr;
  const SafeTensorInfo *info = ckpt->ckpt->find(name);
  if (!info)
    return nullptr;
  HostTensor view;
  std::string error;
  const void *data = nullptr;
  if (info->dtype && ckpt->ckpt->view(name, view, error))
    data = view.bytes(); // the mapping outlives the view (owned by the file)
  if (bytes)
    *bytes = info->end - info->begin;
  if (dtype)
    *dtype = info->dtypeName.c_str();
  if (rank)
    *rank = static_cast<int>(info->shape.size());
  if (shape)
    for (size_t i = 0; i < info->shape.size() && i < 8; ++i)
      shape[i] = info->shape[i];
  return data;
}

extern "C" size_t nova_checkpoint_num_tensors(const nova_checkpoint *ckpt) {
  return ckpt ? ckpt->ckpt->tensors().size() : 0;
}

extern "C" const char *nova_checkpoint_tensor_name(const nova_checkpoint *ckpt,
                                                   size_t index) {
  if (!ckpt || index >= ckpt->ckpt->tensors().size())
    return nullptr;
  return ckpt->ckpt->tensors()[index]->name.c_str();
}

extern "C" int nova_checkpoint_load(const nova_checkpoint *ckpt,
                                    const nova_load_request *requests,
                                    size_t count, nova_read_mode mode,
                                    unsigned threads, char *error,
                                    size_t errorSize) {
  if (!ckpt || (count && !requests)) {
    report("no checkpoint or no requests given", error, errorSize);
    return -1;
  }
  if (mode < NOVA_READ_AUTO || mode > NOVA_READ_SHM) {
    report("unknown read mode " + std::to_string(mode), error, errorSize);
    return -1;
  }
  std::vector<LoadRequest> reqs(count);
  for (size_t i = 0; i < count; ++i) {
    const nova_load_request &r = requests[i];
    if (!r.name || !r.dest) {
      report("request " + std::to_string(i) + " has no name or destination",
             error, errorSize);
      return -1;
    }
    reqs[i].name = r.name;
    reqs[i].dest = r.dest;
    reqs[i].destBytes = r.dest_bytes;
    if (!r.slice_begin != !r.slice_end) {
      report("request " + std::to_string(i) +
                 " gives only one of slice_begin and slice_end",
             error, errorSize);
      return -1;
    }
    if (r.slice_begin) {
      const SafeTensorInfo *info = ckpt->ckpt->find(r.name);
      if (!info) {
        report("the checkpoint has no tensor \"" + reqs[i].name + "\"", error,
               errorSize);
        return -1;
      }
      for (size_t d = 0; d < info->shape.size(); ++d)
        reqs[i].slice.push_back({r.slice_begin[d], r.slice_end[d]});
    }
  }
  LoadOptions options;
  options.mode = static_cast<ReadMode>(mode);
  options.threads = threads;
  std::vector<HostTensor> out;
  std::string message;
  if (!ckpt->ckpt->load(reqs, out, options, message)) {
    report(message, error, errorSize);
    return -1;
  }
  return 0;
}

extern "C" int nova_shard_box(int rank, const int64_t *shape, int numAxes,
                              const int64_t *axisSizes, const int64_t *coords,
                              const int *const *dimAxes, const int *dimNumAxes,
                              int64_t *begin, int64_t *end, char *error,
                              size_t errorSize) {
  if (rank < 0 || numAxes < 0 || (rank && (!shape || !begin || !end)) ||
      (numAxes && (!axisSizes || !coords))) {
    report("nova_shard_box: bad arguments", error, errorSize);
    return -1;
  }
  std::vector<MeshAxis> mesh;
  for (int a = 0; a < numAxes; ++a) {
    if (axisSizes[a] <= 0) {
      report("mesh axis " + std::to_string(a) + " has size " +
                 std::to_string(axisSizes[a]),
             error, errorSize);
      return -1;
    }
    mesh.push_back({"axis" + std::to_string(a), axisSizes[a]});
  }
  PartitionSpec spec(rank);
  for (int d = 0; d < rank; ++d)
    for (int j = 0; dimAxes && dimNumAxes && j < dimNumAxes[d]; ++j) {
      int a = dimAxes[d][j];
      if (a < 0 || a >= numAxes) {
        report("dimension " + std::to_string(d) + " names mesh axis " +
                   std::to_string(a) + " of " + std::to_string(numAxes),
               error, errorSize);
        return -1;
      }
      spec[d].push_back(mesh[a].name);
    }
  std::vector<DimRange> box;
  std::string message;
  if (!shardBox(std::vector<int64_t>(shape, shape + rank), spec, mesh,
                std::vector<int64_t>(coords, coords + numAxes), box, message)) {
    report(message, error, errorSize);
    return -1;
  }
  for (int d = 0; d < rank; ++d) {
    begin[d] = box[d].begin;
    end[d] = box[d].end;
  }
  return 0;
}

extern "C" void nova_checkpoint_close(nova_checkpoint *ckpt) { delete ckpt; }
