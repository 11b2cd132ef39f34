//===- CheckpointTest.cpp - Multi-file checkpoints, parallel and sharded loads
//
// SPDX-License-Identifier: Apache-2.0
//
// Index validation (each rule with a crafted bad index), every read mode
// against the reference bytes, selective and shard loads against a naive
// element loop, caller buffers, failure atomicity, the C mirror.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/nova_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <map>
#include <mutex>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

using namespace nova::rt;

namespace {

class CheckpointTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nova-ckpt-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir = tmpl;
  }
  void TearDown() override {
    if (DIR *d = opendir(dir.c_str())) {
      while (dirent *e = readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
          std::remove((dir + "/" + e->d_name).c_str());
      closedir(d);
    }
    rmdir(dir.c_str());
  }

  /// A tensor whose element i holds a value derived from (seed, i).
  static HostTensor pattern(DType dtype, std::vector<int64_t> shape, int seed) {
    HostTensor t = HostTensor::zeros(dtype, std::move(shape));
    uint8_t *b = t.mutableBytes();
    for (size_t i = 0; i < t.sizeInBytes(); ++i)
      b[i] = static_cast<uint8_t>((i * 131 + seed * 7919 + (i >> 8)) & 0xff);
    return t;
  }

  /// Three tensors over several files: a quantized weight, its scales, a
  /// 3-D expert tensor.
  std::vector<std::pair<std::string, HostTensor>> sample() {
    return {{"layer/w", pattern(DType::I8, {96, 80}, 1)},
            {"layer/w.scales", pattern(DType::BF16, {1, 80}, 2)},
            {"moe/w", pattern(DType::F32, {4, 24, 40}, 3)},
            {"norm", pattern(DType::F32, {40}, 4)}};
  }

  std::string writeSample(uint64_t maxFileBytes = 8000) {
    std::string index, error;
    EXPECT_TRUE(writeShardedSafeTensors(
        dir, "model", sample(), {{"layer/w.scales.layout", "per_column"}},
        maxFileBytes, index, error))
        << error;
    return index;
  }

  std::string openError(const std::string &path) {
    std::string error;
    EXPECT_FALSE(Checkpoint::open(path, error));
    return error;
  }

  std::string writeIndex(const std::string &json) {
    std::string path = dir + "/bad.index.json", error;
    EXPECT_TRUE(writeFileAtomically(path, json, error)) << error;
    return path;
  }

  std::string dir;
};

/// The box of `t` copied element by element (the reference for slices).
HostTensor naiveSlice(const HostTensor &t, const std::vector<DimRange> &box) {
  std::vector<int64_t> shape;
  for (const DimRange &r : box)
    shape.push_back(r.end - r.begin);
  HostTensor out = HostTensor::zeros(t.dtype(), shape);
  size_t es = dtypeSize(t.dtype());
  int64_t n = out.numElements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, src = 0, stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      int64_t idx = rem % shape[d] + box[d].begin;
      rem /= shape[d];
      src += idx * stride;
      stride *= t.shape()[d];
    }
    std::memcpy(out.mutableBytes() + i * es, t.bytes() + src * es, es);
  }
  return out;
}

bool sameBytes(const HostTensor &a, const HostTensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.bytes(), b.bytes(), a.sizeInBytes()) == 0;
}

TEST_F(CheckpointTest, MultiFileIndexEveryReadMode) {
  std::string index = writeSample();
  std::string error;
  // By index path and by directory.
  for (const std::string &path : {index, dir}) {
    auto ckpt = Checkpoint::open(path, error);
    ASSERT_TRUE(ckpt) << error;
    EXPECT_GE(ckpt->files().size(), 3u);
    EXPECT_EQ(ckpt->tensors().size(), 4u);
    EXPECT_EQ(ckpt->metadata().at("layer/w.scales.layout"), "per_column");
    uint64_t total = 0;
    for (auto &[name, t] : sample())
      total += t.sizeInBytes();
    EXPECT_EQ(ckpt->totalBytes(), total);
    for (ReadMode mode :
         {ReadMode::Auto, ReadMode::Mmap, ReadMode::Pread, ReadMode::Shm}) {
      for (unsigned threads : {1u, 3u}) {
        LoadOptions options;
        options.mode = mode;
        options.threads = threads;
        options.chunkBytes = 1 << 16; // the minimum: many pieces
        options.progress = Progress::Never;
        std::vector<HostTensor> out;
        LoadStats stats;
        ASSERT_TRUE(ckpt->loadAll(out, options, error, &stats)) << error;
        EXPECT_EQ(stats.bytes, total);
        ASSERT_EQ(out.size(), 4u);
        std::map<std::string, HostTensor> want;
        for (auto &[name, t] : sample())
          want[name] = t;
        for (size_t i = 0; i < out.size(); ++i)
          EXPECT_TRUE(sameBytes(out[i], want[ckpt->tensors()[i]->name]))
              << readModeName(mode) << " " << ckpt->tensors()[i]->name;
        for (ReadMode used : stats.fileModes)
          EXPECT_EQ(used, mode == ReadMode::Auto ? ReadMode::Pread : mode);
      }
    }
  }
  // A checkpoint already in /dev/shm is read in place, not copied again.
  {
    std::string shmPath =
        "/dev/shm/nova-test-" + std::to_string(getpid()) + ".safetensors";
    ASSERT_TRUE(writeSafeTensors(shmPath, {sample()[3]}, {}, error)) << error;
    auto inShm = Checkpoint::open(shmPath, error);
    ASSERT_TRUE(inShm) << error;
    LoadOptions options;
    options.mode = ReadMode::Shm;
    std::vector<HostTensor> out;
    LoadStats stats;
    ASSERT_TRUE(inShm->loadAll(out, options, error, &stats)) << error;
    EXPECT_TRUE(sameBytes(out[0], sample()[3].second));
    EXPECT_EQ(stats.stagedBytes, 0u);
    std::remove(shmPath.c_str());
    // The same file elsewhere is staged: its whole size is copied.
    std::string path = dir + "/norm.safetensors";
    ASSERT_TRUE(writeSafeTensors(path, {sample()[3]}, {}, error)) << error;
    auto elsewhere = Checkpoint::open(path, error);
    ASSERT_TRUE(elsewhere) << error;
    ASSERT_TRUE(elsewhere->loadAll(out, options, error, &stats)) << error;
    EXPECT_EQ(stats.stagedBytes, elsewhere->files()[0]->dataOffset() + 160u);
  }
  // Nothing is left behind in /dev/shm by shm loads.
  if (DIR *d = opendir("/dev/shm")) {
    while (dirent *e = readdir(d))
      EXPECT_NE(std::string(e->d_name).rfind("nova-ckpt-", 0), 0u) << e->d_name;
    closedir(d);
  }
}

TEST_F(CheckpointTest, IndexValidationRules) {
  std::string index = writeSample();
  std::string files[3];
  {
    std::string error;
    auto ckpt = Checkpoint::open(index, error);
    ASSERT_TRUE(ckpt) << error;
    for (int i = 0; i < 3; ++i) {
      const std::string &p = ckpt->files()[i]->path();
      files[i] = p.substr(p.rfind('/') + 1);
    }
  }
  std::string w = R"("layer/w": ")" + files[0] + "\"";
  std::string s = R"("layer/w.scales": ")" + files[0] + "\"";
  std::string m = R"("moe/w": ")" + files[1] + "\"";
  std::string n = R"("norm": ")" + files[2] + "\"";
  auto idx = [&](const std::string &map, const std::string &extra = "") {
    return writeIndex("{" + extra + R"("weight_map": {)" + map + "}}");
  };
  std::string all = w + "," + s + "," + m + "," + n;
  {
    std::string error;
    EXPECT_TRUE(Checkpoint::open(idx(all), error)) << error;
  }
  std::string path = idx(all);
  auto err = [&](const std::string &p) {
    std::string e = openError(p);
    return e.substr(e.find("': ") + 3);
  };
  // Every rule broken names the byte offset of the offending entry.
  EXPECT_EQ(err(writeIndex("[]")), "byte 0: the index is not a JSON object");
  EXPECT_EQ(err(writeIndex("{}")), "byte 0: missing \"weight_map\"");
  EXPECT_EQ(err(writeIndex(R"({"weight_map": {}, "extra": 1})")),
            "byte 28: unknown key \"extra\" (an index has \"metadata\" and "
            "\"weight_map\")");
  EXPECT_EQ(err(idx(R"("a": 3)")),
            "byte 21: \"weight_map\" entry \"a\" is not a file name string");
  EXPECT_EQ(err(idx(R"("a": "/etc/passwd")")),
            "byte 21: file name \"/etc/passwd\" of tensor \"a\" is an "
            "absolute path");
  EXPECT_EQ(err(idx(R"("a": "../x.safetensors")")),
            "byte 21: file name \"../x.safetensors\" of tensor \"a\" leaves "
            "the index's directory ('..')");
  // Names from the index are escaped: a newline or an escape sequence in a
  // key cannot forge a line or drive the terminal.
  EXPECT_EQ(err(idx(R"("a\n\u001b[2J": 3)")),
            "byte 32: \"weight_map\" entry \"a\\n\\x1b[2J\" is not a file "
            "name string");
  // A tensor of a listed file missing from the map: its offset in the
  // file's header.
  uint64_t scalesAt;
  {
    std::string error;
    auto shard = SafeTensorsFile::open(dir + "/" + files[0], error);
    ASSERT_TRUE(shard) << error;
    scalesAt = shard->find("layer/w.scales")->headerOffset;
  }
  EXPECT_EQ(err(idx(w + "," + m + "," + n)),
            "tensor \"layer/w.scales\" of '" + dir + "/" + files[0] +
                "' (header byte " + std::to_string(scalesAt) +
                ") is not listed in \"weight_map\"");
  // Mapped to the wrong file.
  std::string wrong = R"("layer/w": ")" + files[1] + "\"";
  EXPECT_EQ(err(idx(wrong + "," + s + "," + m + "," + n)),
            "byte 27: tensor \"layer/w\" is in '" + dir + "/" + files[0] +
                "' but the index maps it to '" + files[1] + "'");
  std::string ghost = all + R"(, "ghost": ")" + files[2] + "\"";
  EXPECT_EQ(err(idx(ghost)),
            "byte " + std::to_string(16 + ghost.find("\"ghost\": ") + 9) +
                ": tensor \"ghost\" is mapped to '" + files[2] +
                "', which does not contain it");
  EXPECT_EQ(err(idx(all, R"("metadata": {"total_size": 5}, )")),
            "byte 28: \"metadata.total_size\" is 5 but the files hold 23360 "
            "bytes of tensors");
  EXPECT_EQ(err(idx(all, R"("metadata": {"total_size": -1}, )")),
            "byte 28: \"metadata.total_size\" is not a non-negative integer");
  // A missing shard file names the file.
  std::string e = openError(idx(all + R"(, "x": "gone.safetensors")"));
  EXPECT_NE(e.find("gone.safetensors': cannot open"), std::string::npos) << e;
  // A corrupt shard file is reported by the file's own validation.
  {
    std::string error;
    ASSERT_TRUE(writeFileAtomically(dir + "/junk.safetensors",
                                    std::string(16, '\xff'), error));
    e = openError(idx(all + R"(, "x": "junk.safetensors")"));
    EXPECT_NE(e.find("junk.safetensors': byte 0: header length"),
              std::string::npos)
        << e;
  }
  // Metadata that disagrees between files.
  {
    std::string error;
    ASSERT_TRUE(writeSafeTensors(
        dir + "/other.safetensors", {{"x", pattern(DType::I8, {4}, 9)}},
        {{"layer/w.scales.layout", "per_tensor"}}, error));
    e = openError(idx(all + R"(, "x": "other.safetensors")"));
    EXPECT_NE(e.find("__metadata__ \"layer/w.scales.layout\""),
              std::string::npos)
        << e;
  }
  // A directory needs an index or exactly one file.
  std::remove((dir + "/model.safetensors.index.json").c_str());
  EXPECT_NE(openError(dir).find("found"), std::string::npos);
  EXPECT_EQ(path.empty(), false);
}

TEST_F(CheckpointTest, SelectiveLoadsAndCallerBuffers) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::vector<HostTensor> out;
  std::vector<float> buffer(40);
  ASSERT_TRUE(ckpt->load({{"norm", {}, buffer.data(), buffer.size() * 4},
                          {"layer/w", {}, nullptr, 0}},
                         out, LoadOptions(), error))
      << error;
  ASSERT_EQ(out.size(), 2u);
  HostTensor norm = sample()[3].second;
  EXPECT_EQ(std::memcmp(buffer.data(), norm.bytes(), 160), 0);
  EXPECT_EQ(out[0].bytes(), reinterpret_cast<uint8_t *>(buffer.data()));
  EXPECT_TRUE(sameBytes(out[1], sample()[0].second));

  // Every request is checked before anything is written: `out` and the
  // caller's buffer stay as they were.
  std::vector<HostTensor> untouched(1);
  std::vector<float> guard(40, 42.0f);
  auto expectFailure = [&](std::vector<LoadRequest> reqs,
                           const std::string &message) {
    std::string e;
    EXPECT_FALSE(ckpt->load(reqs, untouched, LoadOptions(), e));
    EXPECT_EQ(e, message);
    EXPECT_EQ(untouched.size(), 1u);
    EXPECT_EQ(guard[0], 42.0f);
  };
  expectFailure({{"norm", {}, guard.data(), 160}, {"nope", {}, nullptr, 0}},
                "the checkpoint has no tensor \"nope\"");
  expectFailure({{"norm", {}, guard.data(), 100}},
                "tensor \"norm\": the destination buffer has 100 bytes, the "
                "tensor needs 160");
  expectFailure({{"norm", {}, guard.data(), 160},
                 {"moe/w", {{0, 4}, {0, 25}, {0, 40}}, nullptr, 0}},
                "tensor \"moe/w\" [4, 24, 40]: slice [0, 25) of dimension 1 "
                "is out of range");
  expectFailure(
      {{"norm", {}, guard.data(), 160}, {"moe/w", {{0, 4}}, nullptr, 0}},
      "tensor \"moe/w\" has rank 3, the slice has 1 ranges");
}

TEST_F(CheckpointTest, ShardBoxesFollowPartitionSpecs) {
  std::vector<MeshAxis> mesh = {{"data", 2}, {"model", 4}};
  EXPECT_EQ(meshCoordinates(mesh, 6), (std::vector<int64_t>{1, 2}));
  std::vector<DimRange> box;
  std::string error;
  // P(None, ('data', 'model')) on [96, 80]: columns in 8 blocks of 10,
  // device (1, 2) holds block 1*4+2 = 6.
  ASSERT_TRUE(
      shardBox({96, 80}, {{}, {"data", "model"}}, mesh, {1, 2}, box, error))
      << error;
  EXPECT_EQ(box, (std::vector<DimRange>{{0, 96}, {60, 70}}));
  // P('model', 'data'): rows by model, columns by data.
  ASSERT_TRUE(
      shardBox({96, 80}, {{"model"}, {"data"}}, mesh, {1, 3}, box, error));
  EXPECT_EQ(box, (std::vector<DimRange>{{72, 96}, {40, 80}}));
  // Missing trailing entries are replicated; an empty spec replicates all.
  ASSERT_TRUE(shardBox({4, 24, 40}, {{"data"}}, mesh, {1, 0}, box, error));
  EXPECT_EQ(box, (std::vector<DimRange>{{2, 4}, {0, 24}, {0, 40}}));
  // A dimension of size 1 is broadcast: per-column scales [1, 80] under the
  // weight's P('model', 'data') are [1, 40] on every row shard.
  ASSERT_TRUE(
      shardBox({1, 80}, {{"model"}, {"data"}}, mesh, {1, 3}, box, error));
  EXPECT_EQ(box, (std::vector<DimRange>{{0, 1}, {40, 80}}));

  auto bad = [&](std::vector<int64_t> shape, PartitionSpec spec,
                 std::vector<int64_t> coords) {
    std::string e;
    EXPECT_FALSE(shardBox(shape, spec, mesh, coords, box, e));
    return e;
  };
  EXPECT_EQ(bad({96, 80}, {{"expert"}}, {0, 0}), "unknown mesh axis 'expert'");
  EXPECT_EQ(bad({96, 80}, {{"data"}, {"data"}}, {0, 0}),
            "mesh axis 'data' shards two dimensions");
  EXPECT_EQ(bad({96, 81}, {{}, {"model"}}, {0, 0}),
            "dimension 1 of [96, 81] (81) is not divisible by 4 shards");
  EXPECT_EQ(bad({96}, {{}, {"model"}}, {0, 0}),
            "the partition spec has 2 entries, the tensor [96] has 1 "
            "dimensions");
  EXPECT_EQ(bad({96}, {}, {2, 0}),
            "coordinate 2 of mesh axis 'data' is outside [0, 2)");
  EXPECT_EQ(bad({96}, {}, {0}), "expected 2 mesh coordinates, got 1");
}

TEST_F(CheckpointTest, ShardLoadsMatchNaiveSlices) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::map<std::string, HostTensor> want;
  for (auto &[name, t] : sample())
    want[name] = t;
  // Every device's shard of every tensor under several specs, and random
  // boxes, in every mode: bytes equal the naive element loop.
  std::vector<MeshAxis> mesh = {{"data", 2}, {"model", 4}};
  std::vector<std::pair<std::string, PartitionSpec>> specs = {
      {"layer/w", {{}, {"data", "model"}}},
      {"layer/w", {{"model"}, {"data"}}},
      {"layer/w.scales", {{}, {"model", "data"}}},
      {"moe/w", {{"data"}, {}, {"model"}}},
      {"moe/w", {{}, {"model"}}},
      {"norm", {{"data", "model"}}}};
  std::mt19937 rng(5);
  for (ReadMode mode : {ReadMode::Mmap, ReadMode::Pread}) {
    LoadOptions options;
    options.mode = mode;
    options.chunkBytes = 1 << 16;
    for (auto &[name, spec] : specs) {
      for (int64_t device = 0; device < 8; ++device) {
        std::vector<DimRange> box;
        ASSERT_TRUE(shardBox(want[name].shape(), spec, mesh,
                             meshCoordinates(mesh, device), box, error))
            << error;
        std::vector<HostTensor> out;
        ASSERT_TRUE(ckpt->load({{name, box, nullptr, 0}}, out, options, error))
            << error;
        EXPECT_TRUE(sameBytes(out[0], naiveSlice(want[name], box)))
            << name << " device " << device;
      }
    }
    for (int trial = 0; trial < 50; ++trial) {
      std::string name = sample()[trial % 4].first;
      std::vector<DimRange> box;
      for (int64_t d : want[name].shape()) {
        int64_t a = std::uniform_int_distribution<int64_t>(0, d)(rng);
        int64_t b = std::uniform_int_distribution<int64_t>(0, d)(rng);
        box.push_back({std::min(a, b), std::max(a, b)});
      }
      std::vector<HostTensor> out;
      ASSERT_TRUE(ckpt->load({{name, box, nullptr, 0}}, out, options, error))
          << error;
      EXPECT_TRUE(sameBytes(out[0], naiveSlice(want[name], box))) << name;
    }
  }
}

TEST_F(CheckpointTest, SelectionsByPredicateAndByPartitionSpec) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::vector<LoadRequest> reqs =
      selectTensors(*ckpt, [](const SafeTensorInfo &t) {
        return t.name.rfind("layer/", 0) == 0;
      });
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].name, "layer/w");
  EXPECT_EQ(reqs[1].name, "layer/w.scales");
  // Device (1, 2) of a (2, 4) mesh: weight and scales share P(None, 'model')
  // (scales inherit the weight's spec); the norm is replicated; moe/w is
  // not loaded.
  std::vector<MeshAxis> mesh = {{"data", 2}, {"model", 4}};
  auto specOf = [](const SafeTensorInfo &t) -> std::optional<PartitionSpec> {
    if (t.name.rfind("layer/w", 0) == 0)
      return PartitionSpec{{}, {"model"}};
    if (t.name == "norm")
      return PartitionSpec{};
    return std::nullopt;
  };
  ASSERT_TRUE(shardRequests(*ckpt, specOf, mesh, {1, 2}, reqs, error)) << error;
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].slice, (std::vector<DimRange>{{0, 96}, {40, 60}}));
  EXPECT_EQ(reqs[1].slice, (std::vector<DimRange>{{0, 1}, {40, 60}}));
  EXPECT_EQ(reqs[2].slice, (std::vector<DimRange>{{0, 40}}));
  std::vector<HostTensor> out;
  ASSERT_TRUE(ckpt->load(reqs, out, LoadOptions(), error)) << error;
  EXPECT_TRUE(sameBytes(out[0], naiveSlice(sample()[0].second, reqs[0].slice)));
  auto bad = [](const SafeTensorInfo &t) -> std::optional<PartitionSpec> {
    return PartitionSpec{{"tensor"}};
  };
  EXPECT_FALSE(shardRequests(*ckpt, bad, mesh, {0, 0}, reqs, error));
  EXPECT_EQ(error, "tensor \"layer/w\": unknown mesh axis 'tensor'");
}

TEST_F(CheckpointTest, FilesResolvingOutsideTheDirectoryAreRefused) {
  // A sharded checkpoint in a directory next to `dir`, reached through a
  // symlinked subdirectory: refused, naming the entry. The same through a
  // symlink that stays inside `dir` opens.
  char tmpl[] = "/tmp/nova-ckpt-out-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string outside = tmpl, index, error;
  ASSERT_TRUE(writeShardedSafeTensors(outside, "model", sample(), {}, 8000,
                                      index, error))
      << error;
  std::string json = "{\"weight_map\": {";
  std::vector<std::string> shards;
  {
    auto ckpt = Checkpoint::open(outside, error);
    ASSERT_TRUE(ckpt) << error;
    for (const SafeTensorInfo *t : ckpt->tensors()) {
      std::string file = ckpt->fileOf(t->name)->path();
      file = file.substr(file.rfind('/') + 1);
      json += (json.back() == '{' ? "\"" : ", \"") + t->name + "\": \"link/" +
              file + "\"";
      if (std::find(shards.begin(), shards.end(), file) == shards.end())
        shards.push_back(file);
    }
  }
  json += "}}";
  std::string link = dir + "/link",
              indexPath = dir + "/" + "model.safetensors.index.json";
  ASSERT_EQ(symlink(outside.c_str(), link.c_str()), 0);
  ASSERT_TRUE(writeFileAtomically(indexPath, json, error)) << error;
  error = openError(dir);
  EXPECT_NE(error.find("'" + dir + "/link/" + shards[0] +
                       "': resolves (through a symlink) outside the "
                       "checkpoint directory"),
            std::string::npos)
      << error;
  EXPECT_FALSE(Checkpoint::open(indexPath, error));

  // The shards copied into a subdirectory of `dir`, `link` pointing there.
  std::string inside = dir + "/real";
  ASSERT_EQ(mkdir(inside.c_str(), 0755), 0);
  for (const std::string &file : shards)
    ASSERT_EQ(
        rename((outside + "/" + file).c_str(), (inside + "/" + file).c_str()),
        0);
  ASSERT_EQ(unlink(link.c_str()), 0);
  ASSERT_EQ(symlink("real", link.c_str()), 0);
  auto ckpt = Checkpoint::open(dir, error);
  EXPECT_TRUE(ckpt) << error;
  if (ckpt)
    EXPECT_EQ(ckpt->tensors().size(), sample().size());

  for (const std::string &file : shards)
    unlink((inside + "/" + file).c_str());
  rmdir(inside.c_str());
  unlink(index.c_str());
  rmdir(outside.c_str());
}

TEST_F(CheckpointTest, FileTruncatedAfterOpenIsAnErrorNotACrash) {
  std::string path = dir + "/one.safetensors", error;
  ASSERT_TRUE(writeSafeTensors(
      path, {{"big", pattern(DType::F32, {1 << 16}, 1)}}, {}, error));
  auto ckpt = Checkpoint::open(path, error);
  ASSERT_TRUE(ckpt) << error;
  ASSERT_EQ(truncate(path.c_str(), 4096), 0);
  std::vector<HostTensor> out(1);
  LoadOptions options;
  options.mode = ReadMode::Pread;
  EXPECT_FALSE(ckpt->load({{"big", {}, nullptr, 0}}, out, options, error));
  EXPECT_NE(error.find("the file was truncated after it was opened"),
            std::string::npos)
      << error;
  EXPECT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].empty());
}

TEST_F(CheckpointTest, LargeTensorsLoadIntoHugePageAlignedMemory) {
  std::string path = dir + "/large.safetensors", error;
  HostTensor big = pattern(DType::I8, {5 << 20}, 3);
  ASSERT_TRUE(writeSafeTensors(path, {{"big", big}}, {}, error)) << error;
  auto ckpt = Checkpoint::open(path, error);
  ASSERT_TRUE(ckpt) << error;
  std::vector<HostTensor> out;
  LoadOptions options;
  options.chunkBytes = 1 << 20; // five pieces over four threads
  options.threads = 4;
  ASSERT_TRUE(ckpt->loadAll(out, options, error)) << error;
  EXPECT_TRUE(sameBytes(out[0], big));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(out[0].bytes()) % (2 << 20), 0u);
}

TEST_F(CheckpointTest, ProgressBarShowsBytesRateAndEta) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::vector<HostTensor> out;
  LoadOptions options;
  options.progress = Progress::Always;
  options.progressAfterSeconds = 0; // a small load would never show it
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(ckpt->loadAll(out, options, error)) << error;
  std::string bar = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(bar.find("\rloading checkpoint [##############################] "
                     "100%  0.00 / 0.00 GB"),
            std::string::npos)
      << bar;
  EXPECT_NE(bar.find("GB/s  ETA 0.0 s"), std::string::npos) << bar;
  EXPECT_EQ(bar.back(), '\n');
  // Quiet by default when stderr is not a terminal, and when asked.
  for (Progress p : {Progress::Auto, Progress::Never}) {
    options.progress = p;
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(ckpt->loadAll(out, options, error)) << error;
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  }
}

TEST_F(CheckpointTest, CheckDeclaredListsEveryProblem) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::vector<DeclaredTensor> declared = {
      {"layer/w", DType::I8, {96, 80}, "", "m.yaml:3:5"},
      {"layer/w.scales", DType::BF16, {1, 80}, "per_tensor", "m.yaml:3:5"},
      {"moe/w", DType::BF16, {4, 24, 40}, "", ""},
      {"gone", DType::F32, {2}, "", "m.yaml:9:1"}};
  EXPECT_FALSE(checkDeclared(*ckpt, declared, error));
  EXPECT_EQ(error,
            "m.yaml:3:5: checkpoint tensor 'layer/w.scales': scale layout "
            "per_column, expected per_tensor\n"
            "checkpoint tensor 'moe/w': expected bf16[4, 24, 40], got f32[4, "
            "24, 40]\n"
            "m.yaml:9:1: checkpoint has no tensor 'gone' (expected f32[2])");
  declared.resize(1);
  EXPECT_TRUE(checkDeclared(*ckpt, declared, error));
}

TEST_F(CheckpointTest, FailedShardedWriteLeavesNothing) {
  std::string index, error;
  std::vector<std::pair<std::string, uint64_t>> sizes = {
      {"a", 16}, {"b", 16}, {"c", 16}};
  auto produce = [&](size_t begin, size_t end,
                     std::vector<std::pair<std::string, HostTensor>> &out,
                     std::string &e) {
    if (begin >= 2) {
      e = "source unreadable";
      return false;
    }
    for (size_t i = begin; i < end; ++i)
      out.push_back({sizes[i].first, pattern(DType::F32, {4}, int(i))});
    return true;
  };
  EXPECT_FALSE(writeShardedSafeTensors(dir, "model", sizes, produce, {}, 16,
                                       index, error));
  EXPECT_EQ(error, "source unreadable");
  DIR *d = opendir(dir.c_str());
  int entries = 0;
  while (dirent *e = readdir(d))
    entries += std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..");
  closedir(d);
  EXPECT_EQ(entries, 0);
}

/// A device whose copies happen as late as allowed: only when the slot is
/// waited on. A pipeline that refilled a slot before waiting for its copies
/// would deliver the wrong bytes.
class LazyDevice : public StagingSink {
public:
  explicit LazyDevice(size_t bytes) : memory(bytes, 0xAB) {}
  bool allocateSlots(unsigned count, uint64_t bytes, std::vector<void *> &out,
                     std::string &) override {
    storage.assign(count, std::vector<uint8_t>(bytes));
    pending.assign(count, {});
    for (auto &s : storage)
      out.push_back(s.data());
    slotBytes = bytes;
    return true;
  }
  void freeSlots(std::vector<void *> &slots) override {
    freed = slots.size();
    slots.clear();
  }
  bool copyAsync(unsigned slot, uint64_t dst, const void *src, uint64_t bytes,
                 std::string &error) override {
    std::lock_guard<std::mutex> lock(mutex);
    auto *s = static_cast<const uint8_t *>(src);
    if (s < storage[slot].data() ||
        s + bytes > storage[slot].data() + slotBytes || dst < base() ||
        dst + bytes > base() + memory.size()) {
      error = "copy outside the slot or the device";
      return false;
    }
    pending[slot].push_back({dst, src, bytes});
    size_t inFlight = 0;
    for (auto &p : pending)
      inFlight += !p.empty();
    maxInFlight = std::max(maxInFlight, inFlight);
    return true;
  }
  bool wait(unsigned slot, std::string &) override {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &c : pending[slot])
      std::memcpy(reinterpret_cast<void *>(c.dst), c.src, c.bytes);
    pending[slot].clear();
    return true;
  }
  uint64_t base() const { return reinterpret_cast<uint64_t>(memory.data()); }

  struct Copy {
    uint64_t dst;
    const void *src;
    uint64_t bytes;
  };
  std::vector<uint8_t> memory;
  std::vector<std::vector<uint8_t>> storage;
  std::vector<std::vector<Copy>> pending;
  uint64_t slotBytes = 0;
  size_t maxInFlight = 0, freed = 0;
  std::mutex mutex;
};

TEST_F(CheckpointTest, DeviceLoadsStageThroughSlots) {
  writeSample();
  std::string error;
  auto ckpt = Checkpoint::open(dir, error);
  ASSERT_TRUE(ckpt) << error;
  std::map<std::string, HostTensor> want;
  for (auto &[name, t] : sample())
    want[name] = t;
  std::vector<MeshAxis> mesh = {{"model", 4}};
  for (ReadMode mode : {ReadMode::Pread, ReadMode::Mmap}) {
    LazyDevice device(1 << 20);
    std::vector<DeviceLoadRequest> reqs;
    std::vector<HostTensor> expected;
    uint64_t offset = 0;
    for (auto &[name, t] : sample()) {
      // Whole tensors, and device 1's column shard of each.
      reqs.push_back({name, {}, device.base() + offset, t.sizeInBytes()});
      expected.push_back(t);
      offset += t.sizeInBytes();
      std::vector<DimRange> box;
      PartitionSpec spec(t.rank());
      spec.back() = {"model"};
      ASSERT_TRUE(shardBox(t.shape(), spec, mesh, {1}, box, error)) << error;
      HostTensor shard = naiveSlice(t, box);
      reqs.push_back({name, box, device.base() + offset, shard.sizeInBytes()});
      expected.push_back(shard);
      offset += shard.sizeInBytes();
    }
    LoadOptions options;
    options.mode = mode;
    options.threads = 2;
    options.chunkBytes = 4096; // small slots: many batches, pieces split
    LoadStats stats;
    ASSERT_TRUE(ckpt->loadToDevice(reqs, device, options, error, &stats))
        << error;
    offset = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(std::memcmp(device.memory.data() + offset, expected[i].bytes(),
                            expected[i].sizeInBytes()),
                0)
          << reqs[i].name << " request " << i;
      offset += expected[i].sizeInBytes();
    }
    EXPECT_EQ(device.freed, 4u);       // two slots per thread, all returned
    EXPECT_GE(device.maxInFlight, 2u); // reads overlapped pending copies
    EXPECT_EQ(stats.bytes, offset);
  }
  LazyDevice device(64);
  EXPECT_FALSE(ckpt->loadToDevice({{"norm", {}, device.base(), 100}}, device,
                                  LoadOptions(), error));
  EXPECT_EQ(error, "tensor \"norm\": the device buffer has 100 bytes, the "
                   "tensor needs 160");
  // (100 < 160 is the check; the fake's own bounds are never reached.)
}

TEST_F(CheckpointTest, CApiLoadsShards) {
  writeSample();
  char error[256];
  nova_checkpoint *ckpt = nova_checkpoint_open(dir.c_str(), error, 256);
  ASSERT_TRUE(ckpt) << error;
  EXPECT_EQ(nova_checkpoint_num_tensors(ckpt), 4u);
  // Device 6 of a (2, 4) mesh, P(None, ('data', 'model')) on [96, 80].
  int64_t shape[2] = {96, 80}, sizes[2] = {2, 4}, coords[2] = {1, 2};
  int axes1[2] = {0, 1};
  const int *dimAxes[2] = {nullptr, axes1};
  int dimNum[2] = {0, 2};
  int64_t begin[2], end[2];
  ASSERT_EQ(nova_shard_box(2, shape, 2, sizes, coords, dimAxes, dimNum, begin,
                           end, error, 256),
            0)
      << error;
  EXPECT_EQ(begin[1], 60);
  EXPECT_EQ(end[1], 70);
  std::vector<int8_t> shard(96 * 10);
  nova_load_request req = {"layer/w", begin, end, shard.data(), shard.size()};
  ASSERT_EQ(nova_checkpoint_load(ckpt, &req, 1, NOVA_READ_PREAD, 2, error, 256),
            0)
      << error;
  HostTensor want = naiveSlice(sample()[0].second, {{0, 96}, {60, 70}});
  EXPECT_EQ(std::memcmp(shard.data(), want.bytes(), shard.size()), 0);
  req.dest_bytes = 5;
  EXPECT_EQ(nova_checkpoint_load(ckpt, &req, 1, NOVA_READ_AUTO, 0, error, 256),
            -1);
  EXPECT_STREQ(error, "tensor \"layer/w\": the destination buffer has 5 "
                      "bytes, the slice needs 960");
  sizes[1] = 3;
  EXPECT_EQ(nova_shard_box(2, shape, 2, sizes, coords, dimAxes, dimNum, begin,
                           end, error, 256),
            -1);
  nova_checkpoint_close(ckpt);
}

} // namespace
