//===- ManifestTest.cpp - Writing and strictly reading manifests ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Manifest.h"

#include <gtest/gtest.h>

using namespace nova::rt;

namespace {

ManifestArg arg(ArgRole role, std::string name, DType dtype,
                std::vector<int64_t> shape) {
  ManifestArg a;
  a.role = role;
  a.name = std::move(name);
  a.dtype = dtype;
  a.shape = std::move(shape);
  return a;
}

ModuleManifest sample() {
  ModuleManifest m;
  m.model = "tiny";
  m.novaVersion = novaVersion();
  m.target = {
      "cpu", "x86-64-v3", "", {{"znver4", ""}, {"native-like", "+avx2"}}};
  m.meshes.push_back({"mesh", {{"data", 1}, {"model", 2}}});
  ManifestParam w;
  w.path = "layer/w";
  w.dtype = DType::I8;
  w.shape = {8, 4};
  w.localShape = {8, 4};
  w.quantized = true;
  w.scalesDType = DType::BF16;
  w.scalesShape = {1, 4};
  w.scalesLocalShape = {1, 4};
  w.scaleLayout = "#nova.scale_layout<per_column>";
  w.spec = PartitionSpec{{"model"}, {}};
  w.mesh = "mesh";
  w.location = "model.yaml:3:5";
  ManifestParam n;
  n.path = "norm/scale";
  n.shape = {8};
  n.localShape = {8};
  m.params = {w, n};
  ManifestEntry e;
  e.name = "forward";
  e.symbol = "nova_forward";
  e.args = {arg(ArgRole::Input, "x", DType::F32, {2, 8}),
            arg(ArgRole::State, "cache", DType::BF16, {2, 4}),
            arg(ArgRole::Parameter, "layer/w", DType::I8, {8, 4}),
            arg(ArgRole::Scales, "layer/w.scales", DType::BF16, {1, 4}),
            arg(ArgRole::Parameter, "norm/scale", DType::F32, {8}),
            arg(ArgRole::Output, "y", DType::F32, {2, 4}),
            arg(ArgRole::Output, "cache", DType::BF16, {2, 4})};
  m.entries = {e};
  return m;
}

/// The sample as an SPMD module: the entry takes the communicator after its
/// inputs and rank's shards of the row-split weight (its per-column scales
/// broadcast).
ModuleManifest spmdSample() {
  ModuleManifest m = sample();
  m.params[0].localShape = {4, 4};
  ManifestEntry &e = m.entries[0];
  e.args.insert(e.args.begin() + 2,
                arg(ArgRole::Communicator, "comm", DType::I32, {}));
  e.args[3].shape = {4, 4};
  return m;
}

/// Parses `text`, expecting failure; returns the message.
std::string parseError(const std::string &text) {
  ModuleManifest m;
  std::string error;
  EXPECT_FALSE(parseManifestJson(text, "m.json", m, error)) << text;
  return error;
}

/// The sample's JSON with `from` replaced by `to` (once).
std::string mutated(const std::string &from, const std::string &to) {
  std::string text = writeManifestJson(sample());
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

} // namespace

TEST(ManifestTest, RoundTripsByteForByte) {
  std::string text = writeManifestJson(sample());
  ModuleManifest back;
  std::string error;
  ASSERT_TRUE(parseManifestJson(text, "m.json", back, error)) << error;
  EXPECT_EQ(writeManifestJson(back), text);
  ASSERT_EQ(back.entries.size(), 1u);
  EXPECT_EQ(back.entries[0].numInputs(), 2u);
  EXPECT_EQ(back.entries[0].numOutputs(), 2u);
  EXPECT_EQ(back.entries[0].args[3].paramPath(), "layer/w");
  EXPECT_EQ(back.entries[0].args[3].bytes(), 8);
  ASSERT_NE(back.param("layer/w"), nullptr);
  EXPECT_EQ(back.param("layer/w")->spec->at(0),
            std::vector<std::string>{"model"});
  EXPECT_EQ(back.entryBySymbol("nova_forward"), &back.entries[0]);
  // The higher tiers of a multi-tier object, in order.
  ASSERT_EQ(back.target.tiers.size(), 2u);
  EXPECT_EQ(back.target.tiers[0].cpu, "znver4");
  EXPECT_EQ(back.target.tiers[1].features, "+avx2");
  EXPECT_NE(text.find("\"tiers\": [\n      {\"cpu\": \"znver4\", "
                      "\"features\": \"\"},"),
            std::string::npos)
      << text;
  std::vector<DeclaredTensor> declared = back.declaredTensors();
  ASSERT_EQ(declared.size(), 3u);
  EXPECT_EQ(declared[1].name, "layer/w.scales");
  EXPECT_EQ(declared[1].scaleLayout, "#nova.scale_layout<per_column>");
  EXPECT_EQ(declared[1].location, "model.yaml:3:5");
}

// A CUDA module's target carries the GPU architecture; only it has the key.
TEST(ManifestTest, CudaTargetRoundTripsWithItsChip) {
  ModuleManifest m = sample();
  m.target = {"cuda", "x86-64-v3", "", {}, "sm_90a"};
  std::string text = writeManifestJson(m);
  EXPECT_NE(text.find("\"gpu\": \"sm_90a\""), std::string::npos) << text;
  ModuleManifest back;
  std::string error;
  ASSERT_TRUE(parseManifestJson(text, "m.json", back, error)) << error;
  EXPECT_EQ(back.target.kind, "cuda");
  EXPECT_EQ(back.target.gpu, "sm_90a");
  EXPECT_EQ(writeManifestJson(back), text);

  std::string noChip = text;
  noChip.erase(noChip.find("\"gpu\": \"sm_90a\","),
               std::string("\"gpu\": \"sm_90a\",").size());
  EXPECT_FALSE(parseManifestJson(noChip, "m.json", back, error));
  EXPECT_NE(error.find("missing key \"gpu\""), std::string::npos) << error;

  std::string cpuWithChip = writeManifestJson(sample());
  cpuWithChip.replace(cpuWithChip.find("\"features\": \"\","),
                      std::string("\"features\": \"\",").size(),
                      "\"features\": \"\", \"gpu\": \"sm_90a\",");
  EXPECT_FALSE(parseManifestJson(cpuWithChip, "m.json", back, error));
  EXPECT_NE(error.find("unknown key \"gpu\""), std::string::npos) << error;
}

TEST(ManifestTest, SpmdRoundTripsWithCommunicatorAndLocalShapes) {
  std::string text = writeManifestJson(spmdSample());
  EXPECT_NE(text.find("\"local_shape\": [4, 4]"), std::string::npos) << text;
  EXPECT_NE(text.find("{\"role\": \"communicator\", \"name\": \"comm\", "
                      "\"dtype\": \"i32\", \"shape\": []}"),
            std::string::npos)
      << text;
  ModuleManifest back;
  std::string error;
  ASSERT_TRUE(parseManifestJson(text, "m.json", back, error)) << error;
  EXPECT_EQ(writeManifestJson(back), text);
  EXPECT_TRUE(back.isSpmd());
  EXPECT_FALSE(sample().isSpmd());
  const ManifestEntry &e = back.entries[0];
  EXPECT_EQ(e.communicatorIndex(), std::optional<size_t>(2));
  EXPECT_EQ(sample().entries[0].communicatorIndex(), std::nullopt);
  EXPECT_EQ(e.numBuffers(), e.args.size() - 1);
  EXPECT_EQ(e.numInputs(), 2u);
  EXPECT_FALSE(e.args[2].isBuffer());
  // The checkpoint still holds the whole tensor.
  EXPECT_EQ(back.declaredTensors()[0].shape, (std::vector<int64_t>{8, 4}));
}

TEST(ManifestTest, SplitStateRoundTrips) {
  // A state value the SPMD program keeps split (the KV cache by heads): its
  // input and output carry the spec of their block.
  ModuleManifest m = spmdSample();
  for (ManifestArg &a : m.entries[0].args)
    if (a.name == "cache") {
      a.shape = {2, 2};
      a.mesh = "mesh";
      a.spec = PartitionSpec{{}, {"model"}};
    }
  std::string text = writeManifestJson(m);
  EXPECT_NE(text.find("{\"role\": \"state\", \"name\": \"cache\", "
                      "\"dtype\": \"bf16\", \"shape\": [2, 2], "
                      "\"sharding\": {\"mesh\": \"mesh\", \"spec\": [[], "
                      "[\"model\"]]}}"),
            std::string::npos)
      << text;
  ModuleManifest back;
  std::string error;
  ASSERT_TRUE(parseManifestJson(text, "m.json", back, error)) << error;
  EXPECT_EQ(writeManifestJson(back), text);
  const ManifestArg &state = back.entries[0].args[1];
  ASSERT_TRUE(state.spec.has_value());
  EXPECT_EQ(*state.spec, (PartitionSpec{{}, {"model"}}));
  EXPECT_EQ(state.mesh, "mesh");
  // A malformed spec is located.
  std::string bad = text;
  bad.replace(bad.find("[\"model\"]"), 9, "\"model\"");
  EXPECT_FALSE(parseManifestJson(bad, "m.json", back, error));
  EXPECT_NE(error.find("m.json: byte"), std::string::npos) << error;
}

TEST(ManifestTest, SpmdContractIsChecked) {
  auto failure = [](const ModuleManifest &m) {
    return parseError(writeManifestJson(m));
  };
  // A local shape that is not the rank's shard, and a shard where the
  // module is not an SPMD program.
  ModuleManifest m = spmdSample();
  m.params[0].localShape = {8, 4};
  m.entries[0].args[3].shape = {8, 4};
  EXPECT_NE(failure(m).find("parameter 'layer/w' local_shape [8, 4] is not "
                            "[4, 4] (its shard under the spec)"),
            std::string::npos)
      << failure(m);
  m = sample();
  m.params[0].localShape = {4, 4};
  EXPECT_NE(failure(m).find("local_shape [4, 4] is not [8, 4] (the whole "
                            "tensor: it is not split)"),
            std::string::npos)
      << failure(m);
  // The entry's parameter argument is the local block.
  m = spmdSample();
  m.entries[0].args[3].shape = {8, 4};
  EXPECT_NE(failure(m).find("argument 'layer/w' does not match"),
            std::string::npos);
  // One i32 communicator, right after the inputs.
  m = spmdSample();
  std::swap(m.entries[0].args[1], m.entries[0].args[2]);
  EXPECT_NE(failure(m).find("entry 'forward' communicator 'comm': expected "
                            "right after the inputs (argument 2), got "
                            "argument 1"),
            std::string::npos)
      << failure(m);
  m = spmdSample();
  m.entries[0].args[2].dtype = DType::I64;
  EXPECT_NE(failure(m).find("expected i32[], got i64[]"), std::string::npos)
      << failure(m);
  m = spmdSample();
  m.entries[0].args.insert(m.entries[0].args.begin() + 2, m.entries[0].args[2]);
  EXPECT_NE(failure(m).find("has 2 communicators, expected at most one"),
            std::string::npos)
      << failure(m);
  // Every entry of an SPMD module takes one.
  m = spmdSample();
  m.entries.push_back(sample().entries[0]);
  m.entries.back().name = "other";
  m.entries.back().args[2].shape = {4, 4};
  EXPECT_NE(failure(m).find("entry 'forward' takes a communicator but "
                            "another entry does not: the entries of an SPMD "
                            "module all take one"),
            std::string::npos)
      << failure(m);
}

TEST(ManifestTest, UnknownKeyIsLocated) {
  std::string text =
      mutated("\"model\": \"tiny\"", "\"model\": \"tiny\", \"extra\": 1");
  std::string error = parseError(text);
  // The offset is the offending member's value.
  EXPECT_EQ(error, "m.json: byte " +
                       std::to_string(text.find("\"extra\"") + 9) +
                       ": unknown key \"extra\"");
}

TEST(ManifestTest, MissingKeyIsNamed) {
  std::string error = parseError(mutated("\"model\": \"tiny\",", ""));
  EXPECT_NE(error.find("missing key \"model\""), std::string::npos) << error;
}

TEST(ManifestTest, WrongTypesAreNamedWithTheirKey) {
  EXPECT_NE(parseError(mutated("\"model\": \"tiny\"", "\"model\": 3"))
                .find("key 'model': expected a string"),
            std::string::npos);
  std::string error =
      parseError(mutated("\"shape\": [8, 4]", "\"shape\": [8, -4]"));
  EXPECT_NE(error.find("parameters.layer/w"), std::string::npos) << error;
  EXPECT_NE(error.find("a dimension: expected a non-negative integer"),
            std::string::npos)
      << error;
  EXPECT_NE(parseError(mutated("\"role\": \"state\"", "\"role\": \"carry\""))
                .find("unknown role \"carry\""),
            std::string::npos);
  EXPECT_NE(parseError(mutated("\"dtype\": \"i8\"", "\"dtype\": \"int8\""))
                .find("unknown dtype \"int8\""),
            std::string::npos);
  EXPECT_NE(parseError(mutated("\"kind\": \"cpu\"", "\"kind\": [\"cpu\"]"))
                .find("target: key 'kind': expected a string"),
            std::string::npos);
  EXPECT_NE(parseError(mutated("{\"cpu\": \"znver4\", \"features\": \"\"}",
                               "{\"cpu\": \"znver4\"}"))
                .find("target: missing key \"features\""),
            std::string::npos);
  EXPECT_NE(parseError(mutated("{\"cpu\": \"znver4\", \"features\": \"\"}",
                               "\"znver4\""))
                .find("target: expected an object"),
            std::string::npos);
}

TEST(ManifestTest, VersionMismatchIsAnError) {
  std::string error =
      parseError(mutated("\"nova_manifest\": 3", "\"nova_manifest\": 2"));
  EXPECT_NE(error.find("manifest schema version 2, this build of Nova reads "
                       "version 3"),
            std::string::npos)
      << error;
}

TEST(ManifestTest, ReferencesAreChecked) {
  EXPECT_NE(parseError(mutated("\"mesh\": \"mesh\"", "\"mesh\": \"other\""))
                .find("parameter 'layer/w' names unknown mesh 'other'"),
            std::string::npos);
  EXPECT_NE(parseError(mutated("\"spec\": [\n", "\"spec\": [\n[\"pipe\"],"))
                .find("unknown axis 'pipe'"),
            std::string::npos);
  EXPECT_NE(parseError(mutated("\"name\": \"norm/scale\", \"dtype\": \"f32\"",
                               "\"name\": \"norm/scale\", \"dtype\": \"bf16\""))
                .find("argument 'norm/scale' does not match a declared "
                      "parameter"),
            std::string::npos);
  EXPECT_NE(parseError(mutated("\"path\": \"norm/scale\"", "\"path\": \"a\""))
                .find("not sorted by path"),
            std::string::npos);
}

TEST(ManifestTest, MalformedJsonNamesTheSource) {
  std::string error = parseError("{\"nova_manifest\": 1,");
  EXPECT_EQ(error.rfind("m.json: ", 0), 0u) << error;
}
