//===- FuzzRuntime.cpp - libFuzzer targets for the runtime's readers ------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// One source, one target per reader of untrusted bytes, selected by
// NOVA_FUZZ_<NAME> at compile time (test/Fuzz/CMakeLists.txt). Each target
// only checks what the readers promise: no crash, no sanitizer report, no
// leak, and an error message whenever a reader refuses its input.
//
//===----------------------------------------------------------------------===//

#include "io/Json.h"
#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Manifest.h"
#include "nova/runtime/Npy.h"
#include "nova/runtime/Pickle.h"
#include "nova/runtime/SafeTensors.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace {

/// A refusal without a message breaks the readers' contract.
void requireMessage(bool ok, const std::string &error) {
  if (!ok && error.empty()) {
    std::fprintf(stderr, "reader refused its input without a message\n");
    std::abort();
  }
}

/// A private scratch directory for the readers that take a path.
const std::string &scratchDir() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/nova-fuzz-XXXXXX";
    const char *made = mkdtemp(pattern);
    if (!made)
      std::abort();
    return std::string(made);
  }();
  return dir;
}

void writeFile(const std::string &path, const uint8_t *data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    std::abort();
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0)
      std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

/// Opens a checkpoint and reads every tensor it declares.
void openAndLoad(const std::string &path) {
  std::string error;
  std::unique_ptr<nova::rt::Checkpoint> ckpt =
      nova::rt::Checkpoint::open(path, error);
  requireMessage(ckpt != nullptr, error);
  if (!ckpt)
    return;
  for (const nova::rt::SafeTensorInfo *info : ckpt->tensors()) {
    nova::rt::HostTensor tensor;
    std::string loadError;
    const nova::rt::SafeTensorsFile *file = ckpt->fileOf(info->name);
    if (file)
      requireMessage(file->load(info->name, tensor, loadError), loadError);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *chars = reinterpret_cast<const char *>(data);
  std::string error;
#if defined(NOVA_FUZZ_JSON)
  nova::rt::json::Document document;
  requireMessage(nova::rt::json::parse(std::string_view(chars, size),
                                       nova::rt::json::Limits(), document,
                                       error),
                 error);
#elif defined(NOVA_FUZZ_NPY)
  nova::rt::HostTensor tensor;
  requireMessage(
      nova::rt::parseNpy(std::string(chars, size), "fuzz.npy", tensor, error),
      error);
#elif defined(NOVA_FUZZ_PICKLE)
  nova::rt::GrokTensor tensor;
  requireMessage(
      nova::rt::readGrokPickle(data, size, "fuzz.pkl", tensor, error), error);
#elif defined(NOVA_FUZZ_MANIFEST)
  nova::rt::ModuleManifest manifest;
  requireMessage(nova::rt::parseManifestJson(std::string_view(chars, size),
                                             "fuzz.json", manifest, error),
                 error);
#elif defined(NOVA_FUZZ_SAFETENSORS)
  std::string path = scratchDir() + "/fuzz.safetensors";
  writeFile(path, data, size);
  openAndLoad(path);
#elif defined(NOVA_FUZZ_CHECKPOINT_INDEX)
  // The input is the index of a directory that also holds two small valid
  // shards (written once), so index entries can name real files.
  static const bool shardsWritten = [] {
    for (int i = 0; i < 2; ++i) {
      nova::rt::HostTensor t;
      std::string err;
      t = nova::rt::HostTensor::zeros(nova::rt::DType::F32, {2, 3});
      std::vector<std::pair<std::string, nova::rt::HostTensor>> tensors;
      tensors.emplace_back(i == 0 ? "a/w" : "b/w", t);
      if (!nova::rt::writeSafeTensors(scratchDir() + "/model-0000" +
                                          std::to_string(i + 1) +
                                          "-of-00002.safetensors",
                                      tensors, {}, err))
        std::abort();
    }
    return true;
  }();
  (void)shardsWritten;
  std::string path = scratchDir() + "/model.safetensors.index.json";
  writeFile(path, data, size);
  openAndLoad(scratchDir());
#else
#error "define one NOVA_FUZZ_<READER>"
#endif
  return 0;
}
