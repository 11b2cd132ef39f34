//===- CApi.cpp - Nova's runtime C API ------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/nova_runtime.h"

#include <cstring>

using namespace nova::rt;

struct nova_checkpoint {
  std::unique_ptr<SafeTensorsFile> file;
};

extern "C" nova_checkpoint *nova_checkpoint_open(const char *path, char *error,
                                                 size_t errorSize) {
  std::string message;
  std::unique_ptr<SafeTensorsFile> file =
      path ? SafeTensorsFile::open(path, message) : nullptr;
  if (!path)
    message = "no checkpoint path given";
  if (!file) {
    if (error && errorSize) {
      std::strncpy(error, message.c_str(), errorSize - 1);
      error[errorSize - 1] = '\0';
    }
    return nullptr;
  }
  return new nova_checkpoint{std::move(file)};
}

extern "C" const void *nova_checkpoint_tensor(const nova_checkpoint *ckpt,
                                              const char *name, size_t *bytes,
                                              const char **dtype, int *rank,
                                              int64_t shape[8]) {
  if (!ckpt || !name)
    return nullptr;
  const SafeTensorInfo *info = ckpt->file->find(name);
  if (!info)
    return nullptr;
  HostTensor view;
  std::string error;
  const void *data = nullptr;
  if (info->dtype && ckpt->file->load(name, view, error))
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
  return ckpt ? ckpt->file->tensors().size() : 0;
}

extern "C" const char *nova_checkpoint_tensor_name(const nova_checkpoint *ckpt,
                                                   size_t index) {
  if (!ckpt || index >= ckpt->file->tensors().size())
    return nullptr;
  return ckpt->file->tensors()[index].name.c_str();
}

extern "C" void nova_checkpoint_close(nova_checkpoint *ckpt) { delete ckpt; }
