//===- ManifestTest.cpp - Writing and strictly reading manifests ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Manifest.h"

#include <gtest/gtest.h>

using namespace nova::rt;

namespace {

ModuleManifest sample() {
  ModuleManifest m;
  m.model = "tiny";
  m.novaVersion = novaVersion();
  m.target = {"cpu", "x86-64-v3", ""};
  m.meshes.push_back({"mesh", {{"data", 1}, {"model", 2}}});
  ManifestParam w;
  w.path = "layer/w";
  w.dtype = DType::I8;
  w.shape = {8, 4};
  w.quantized = true;
  w.scalesDType = DType::BF16;
  w.scalesShape = {1, 4};
  w.scaleLayout = "#nova.scale_layout<per_column>";
  w.spec = PartitionSpec{{"model"}, {}};
  w.mesh = "mesh";
  w.location = "model.yaml:3:5";
  ManifestParam n;
  n.path = "norm/scale";
  n.shape = {8};
  m.params = {w, n};
  ManifestEntry e;
  e.name = "forward";
  e.symbol = "nova_forward";
  e.args = {{ArgRole::Input, "x", DType::F32, {2, 8}},
            {ArgRole::State, "cache", DType::BF16, {2, 4}},
            {ArgRole::Parameter, "layer/w", DType::I8, {8, 4}},
            {ArgRole::Scales, "layer/w.scales", DType::BF16, {1, 4}},
            {ArgRole::Parameter, "norm/scale", DType::F32, {8}},
            {ArgRole::Output, "y", DType::F32, {2, 4}},
            {ArgRole::Output, "cache", DType::BF16, {2, 4}}};
  m.entries = {e};
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
  std::vector<DeclaredTensor> declared = back.declaredTensors();
  ASSERT_EQ(declared.size(), 3u);
  EXPECT_EQ(declared[1].name, "layer/w.scales");
  EXPECT_EQ(declared[1].scaleLayout, "#nova.scale_layout<per_column>");
  EXPECT_EQ(declared[1].location, "model.yaml:3:5");
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
}

TEST(ManifestTest, VersionMismatchIsAnError) {
  std::string error =
      parseError(mutated("\"nova_manifest\": 1", "\"nova_manifest\": 2"));
  EXPECT_NE(error.find("manifest schema version 2, this build of Nova reads "
                       "version 1"),
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
