//===- Manifest.cpp - The contract of a compiled Nova module -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Manifest.h"

#include "nova/runtime/Shape.h"
#include "nova/runtime/Sharding.h"

#include "nova/runtime/Text.h"

#include "io/Json.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <set>

#ifndef NOVA_VERSION_STRING
#error "NOVA_VERSION_STRING must be defined by the build"
#endif

using namespace nova::rt;

const char *nova::rt::novaVersion() { return NOVA_VERSION_STRING; }

static constexpr ArgRole kRoles[] = {ArgRole::Input,     ArgRole::State,
                                     ArgRole::Parameter, ArgRole::Scales,
                                     ArgRole::Output,    ArgRole::Communicator};

const char *nova::rt::argRoleName(ArgRole role) {
  switch (role) {
  case ArgRole::Input:
    return "input";
  case ArgRole::State:
    return "state";
  case ArgRole::Parameter:
    return "parameter";
  case ArgRole::Scales:
    return "scales";
  case ArgRole::Output:
    return "output";
  case ArgRole::Communicator:
    return "communicator";
  }
  return "?";
}

static constexpr std::string_view kScalesSuffix = ".scales";

std::string ManifestArg::paramPath() const {
  if (role == ArgRole::Scales && name.size() >= kScalesSuffix.size())
    return name.substr(0, name.size() - kScalesSuffix.size());
  return name;
}

int64_t ManifestArg::numElements() const {
  // The manifest reader refuses shapes whose byte size overflows.
  std::optional<int64_t> n = checkedProduct(shape);
  return n ? *n : 0;
}

size_t ManifestEntry::numInputs() const {
  return std::count_if(args.begin(), args.end(),
                       [](const ManifestArg &a) { return a.isInput(); });
}

size_t ManifestEntry::numOutputs() const {
  return std::count_if(args.begin(), args.end(), [](const ManifestArg &a) {
    return a.role == ArgRole::Output;
  });
}

size_t ManifestEntry::numBuffers() const {
  return std::count_if(args.begin(), args.end(),
                       [](const ManifestArg &a) { return a.isBuffer(); });
}

std::optional<size_t> ManifestEntry::communicatorIndex() const {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].role == ArgRole::Communicator)
      return i;
  return std::nullopt;
}

std::vector<DeclaredTensor> ManifestParam::declaredTensors() const {
  std::vector<DeclaredTensor> tensors;
  tensors.push_back({path, dtype, shape, "", location});
  if (quantized)
    tensors.push_back(
        {path + ".scales", scalesDType, scalesShape, scaleLayout, location});
  return tensors;
}

template <typename T>
static const T *findNamed(const std::vector<T> &items, std::string_view name,
                          std::string T::*key) {
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const T &item) { return item.*key == name; });
  return it == items.end() ? nullptr : &*it;
}

const ManifestEntry *ModuleManifest::entry(std::string_view name) const {
  return findNamed(entries, name, &ManifestEntry::name);
}

const ManifestEntry *
ModuleManifest::entryBySymbol(std::string_view symbol) const {
  return findNamed(entries, symbol, &ManifestEntry::symbol);
}

const ManifestParam *ModuleManifest::param(std::string_view path) const {
  return findNamed(params, path, &ManifestParam::path);
}

const ManifestMesh *ModuleManifest::mesh(std::string_view name) const {
  return findNamed(meshes, name, &ManifestMesh::name);
}

bool ModuleManifest::isSpmd() const {
  return !entries.empty() &&
         std::all_of(entries.begin(), entries.end(),
                     [](const ManifestEntry &e) {
                       return e.communicatorIndex().has_value();
                     });
}

std::vector<DeclaredTensor> ModuleManifest::declaredTensors() const {
  std::vector<DeclaredTensor> tensors;
  for (const ManifestParam &p : params)
    for (DeclaredTensor &t : p.declaredTensors())
      tensors.push_back(std::move(t));
  return tensors;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {

/// Writes JSON with one member per line, two-space indentation; small arrays
/// of numbers and strings stay on one line.
class Writer {
public:
  std::string out;

  void open(char bracket) {
    out += bracket;
    firsts.push_back(true);
  }
  void close(char bracket) {
    bool empty = firsts.back();
    firsts.pop_back();
    if (!empty)
      newline();
    out += bracket;
  }
  /// Starts a member `"key": ` of the current object.
  void key(const char *name) {
    item();
    out += json::quote(name) + ": ";
  }
  /// Starts an element of the current array.
  void item() {
    if (!firsts.back())
      out += ',';
    firsts.back() = false;
    newline();
  }
  void string(std::string_view s) { out += json::quote(s); }
  void number(int64_t n) { out += std::to_string(n); }
  void boolean(bool b) { out += b ? "true" : "false"; }
  void shape(const std::vector<int64_t> &dims) {
    out += '[';
    for (size_t i = 0; i < dims.size(); ++i)
      out += (i ? ", " : "") + std::to_string(dims[i]);
    out += ']';
  }
  void strings(const std::vector<std::string> &items) {
    out += '[';
    for (size_t i = 0; i < items.size(); ++i)
      out += (i ? ", " : "") + json::quote(items[i]);
    out += ']';
  }

private:
  void newline() {
    out += '\n';
    out.append(2 * firsts.size(), ' ');
  }
  std::vector<bool> firsts;
};

} // namespace

static void writeTensorType(Writer &w, DType dtype,
                            const std::vector<int64_t> &shape) {
  w.key("dtype");
  w.string(dtypeName(dtype));
  w.key("shape");
  w.shape(shape);
}

static void writeParam(Writer &w, const ManifestParam &p) {
  w.open('{');
  w.key("path");
  w.string(p.path);
  writeTensorType(w, p.dtype, p.shape);
  w.key("local_shape");
  w.shape(p.localShape);
  w.key("scales");
  if (p.quantized) {
    w.open('{');
    writeTensorType(w, p.scalesDType, p.scalesShape);
    w.key("local_shape");
    w.shape(p.scalesLocalShape);
    w.key("layout");
    w.string(p.scaleLayout);
    w.close('}');
  } else {
    w.out += "null";
  }
  w.key("sharding");
  if (p.spec) {
    w.open('{');
    w.key("mesh");
    w.string(p.mesh);
    w.key("spec");
    w.open('[');
    for (const std::vector<std::string> &axes : *p.spec) {
      w.item();
      w.strings(axes);
    }
    w.close(']');
    w.close('}');
  } else {
    w.out += "null";
  }
  w.key("location");
  w.string(p.location);
  w.close('}');
}

static void writeEntry(Writer &w, const ManifestEntry &e) {
  w.open('{');
  w.key("name");
  w.string(e.name);
  w.key("symbol");
  w.string(e.symbol);
  w.key("args");
  w.open('[');
  for (const ManifestArg &a : e.args) {
    w.item();
    // One argument per line: the table a reader scans.
    w.out += "{\"role\": " + json::quote(argRoleName(a.role)) +
             ", \"name\": " + json::quote(a.name) +
             ", \"dtype\": " + json::quote(dtypeName(a.dtype)) +
             ", \"shape\": ";
    w.shape(a.shape);
    if (a.spec) {
      // Split state: the spec (and mesh) its block is cut by.
      w.out +=
          ", \"sharding\": {\"mesh\": " + json::quote(a.mesh) + ", \"spec\": [";
      for (size_t d = 0; d < a.spec->size(); ++d) {
        w.out += d ? ", [" : "[";
        for (size_t k = 0; k < (*a.spec)[d].size(); ++k)
          w.out += (k ? ", " : "") + json::quote((*a.spec)[d][k]);
        w.out += ']';
      }
      w.out += "]}";
    }
    w.out += '}';
  }
  w.close(']');
  w.close('}');
}

std::string nova::rt::writeManifestJson(const ModuleManifest &m) {
  Writer w;
  w.open('{');
  w.key("nova_manifest");
  w.number(m.version);
  w.key("model");
  w.string(m.model);
  w.key("nova_version");
  w.string(m.novaVersion);
  w.key("target");
  w.open('{');
  w.key("kind");
  w.string(m.target.kind);
  w.key("cpu");
  w.string(m.target.cpu);
  w.key("features");
  w.string(m.target.features);
  if (m.target.kind == "cuda") {
    w.key("gpu");
    w.string(m.target.gpu);
  }
  w.key("tiers");
  w.open('[');
  for (const ManifestTier &tier : m.target.tiers) {
    w.item();
    w.out += "{\"cpu\": " + json::quote(tier.cpu) +
             ", \"features\": " + json::quote(tier.features) + "}";
  }
  w.close(']');
  w.close('}');
  w.key("meshes");
  w.open('[');
  for (const ManifestMesh &mesh : m.meshes) {
    w.item();
    w.open('{');
    w.key("name");
    w.string(mesh.name);
    w.key("axes");
    w.open('[');
    for (const MeshAxis &axis : mesh.axes) {
      w.item();
      w.out += "{\"name\": " + json::quote(axis.name) +
               ", \"size\": " + std::to_string(axis.size) + "}";
    }
    w.close(']');
    w.close('}');
  }
  w.close(']');
  w.key("parameters");
  w.open('[');
  for (const ManifestParam &p : m.params) {
    w.item();
    writeParam(w, p);
  }
  w.close(']');
  w.key("entries");
  w.open('[');
  for (const ManifestEntry &e : m.entries) {
    w.item();
    writeEntry(w, e);
  }
  w.close(']');
  w.close('}');
  w.out += '\n';
  return w.out;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// Strict access to a parsed manifest: every object must have exactly the
/// keys its reader asks for, every value the asked type. The first problem
/// is kept, with the byte offset and the path of keys leading to it.
class Reader {
public:
  Reader(const std::string &source, std::string &error)
      : source(source), error(error) {}

  bool ok() const { return error.empty(); }

  bool fail(const json::Value &at, const std::string &what) {
    if (ok())
      error = source + ": byte " + std::to_string(at.offset) + ": " +
              (context.empty() ? std::string() : context + ": ") + what;
    return false;
  }

  /// Checks that `v` is an object with exactly `keys`.
  bool object(const json::Value &v, std::initializer_list<const char *> keys) {
    if (v.kind != json::Value::Kind::Object)
      return fail(v, "expected an object");
    for (const auto &member : v.members()) {
      std::string_view name = member.first;
      if (std::find_if(keys.begin(), keys.end(),
                       [&](const char *k) { return name == k; }) == keys.end())
        return fail(member.second, "unknown key \"" + printable(name) + "\"");
    }
    for (const char *k : keys)
      if (!v.get(k))
        return fail(v, "missing key " + json::quote(k));
    return true;
  }

  /// Runs `body` with `key` appended to the error context.
  bool within(const std::string &key, const std::function<bool()> &body) {
    std::string saved = context;
    context = context.empty() ? key : context + "." + key;
    bool result = body();
    context = saved;
    return result && ok();
  }

  bool string(const json::Value &obj, const char *key, std::string &out) {
    const json::Value &v = *obj.get(key);
    if (v.kind != json::Value::Kind::String)
      return fail(v, std::string("key '") + key + "': expected a string");
    out = std::string(v.text());
    return true;
  }

  bool integer(const json::Value &v, const std::string &what, int64_t &out) {
    std::optional<uint64_t> n =
        v.kind == json::Value::Kind::Number ? v.asUInt64() : std::nullopt;
    if (!n || *n > static_cast<uint64_t>(INT64_MAX))
      return fail(v, what + ": expected a non-negative integer");
    out = static_cast<int64_t>(*n);
    return true;
  }

  bool boolean(const json::Value &obj, const char *key, bool &out) {
    const json::Value &v = *obj.get(key);
    if (v.kind != json::Value::Kind::Bool)
      return fail(v, std::string("key '") + key + "': expected true or false");
    out = v.boolean;
    return true;
  }

  bool array(const json::Value &v, const std::string &what) {
    if (v.kind != json::Value::Kind::Array)
      return fail(v, what + ": expected an array");
    return true;
  }

  bool dtype(const json::Value &obj, DType &out) {
    std::string name;
    if (!string(obj, "dtype", name))
      return false;
    std::optional<DType> d = parseDType(name);
    if (!d)
      return fail(*obj.get("dtype"),
                  "unknown dtype \"" + printable(name) + "\"");
    out = *d;
    return true;
  }

  bool shape(const json::Value &obj, std::vector<int64_t> &out,
             const char *key = "shape") {
    const json::Value &v = *obj.get(key);
    if (!array(v, std::string("key '") + key + "'"))
      return false;
    out.clear();
    for (const json::Value &d : v.items()) {
      int64_t n;
      if (!integer(d, "a dimension", n))
        return false;
      if (n < 0)
        return fail(d, "a dimension is negative");
      out.push_back(n);
    }
    // 8 bytes: the widest element type, so that bytes() never overflows.
    if (!checkedByteSize(out, 8))
      return fail(v, std::string("key '") + key + "': shape " +
                         formatShape(out) + " overflows 64 bits");
    return true;
  }

  bool strings(const json::Value &v, const std::string &what,
               std::vector<std::string> &out) {
    if (!array(v, what))
      return false;
    for (const json::Value &s : v.items()) {
      if (s.kind != json::Value::Kind::String)
        return fail(s, what + ": expected strings");
      out.push_back(std::string(s.text()));
    }
    return true;
  }

private:
  const std::string &source;
  std::string &error;
  std::string context;
};

} // namespace

static bool readTarget(Reader &r, const json::Value &v, ManifestTarget &t) {
  return r.within("target", [&] {
    const json::Value *kind =
        v.kind == json::Value::Kind::Object ? v.get("kind") : nullptr;
    bool cuda = kind && kind->kind == json::Value::Kind::String &&
                kind->text() == "cuda";
    if (!(cuda ? r.object(v, {"kind", "cpu", "features", "gpu", "tiers"})
               : r.object(v, {"kind", "cpu", "features", "tiers"})) ||
        !r.string(v, "kind", t.kind) || !r.string(v, "cpu", t.cpu) ||
        !r.string(v, "features", t.features) ||
        (cuda && !r.string(v, "gpu", t.gpu)))
      return false;
    const json::Value &tiers = *v.get("tiers");
    if (!r.array(tiers, "key 'tiers'"))
      return false;
    for (const json::Value &item : tiers.items()) {
      ManifestTier tier;
      if (!r.object(item, {"cpu", "features"}) ||
          !r.string(item, "cpu", tier.cpu) ||
          !r.string(item, "features", tier.features))
        return false;
      t.tiers.push_back(std::move(tier));
    }
    return true;
  });
}

static bool readMesh(Reader &r, const json::Value &v, ManifestMesh &mesh) {
  if (!r.object(v, {"name", "axes"}) || !r.string(v, "name", mesh.name))
    return false;
  const json::Value &axes = *v.get("axes");
  if (!r.array(axes, "key 'axes'"))
    return false;
  for (const json::Value &a : axes.items()) {
    MeshAxis axis;
    if (!r.object(a, {"name", "size"}) || !r.string(a, "name", axis.name) ||
        !r.integer(*a.get("size"), "key 'size'", axis.size))
      return false;
    if (axis.size < 1)
      return r.fail(*a.get("size"), "a mesh axis has at least one device");
    mesh.axes.push_back(std::move(axis));
  }
  return true;
}

static bool readSpec(Reader &r, const json::Value &v, std::string &mesh,
                     std::optional<PartitionSpec> &out) {
  if (v.kind == json::Value::Kind::Null)
    return true;
  if (!r.object(v, {"mesh", "spec"}) || !r.string(v, "mesh", mesh))
    return false;
  const json::Value &spec = *v.get("spec");
  if (!r.array(spec, "key 'spec'"))
    return false;
  out.emplace();
  for (const json::Value &dim : spec.items()) {
    out->emplace_back();
    if (!r.strings(dim, "a spec dimension", out->back()))
      return false;
  }
  return true;
}

static bool readSharding(Reader &r, const json::Value &v, ManifestParam &p) {
  return readSpec(r, v, p.mesh, p.spec);
}

static bool readParam(Reader &r, const json::Value &v, ManifestParam &p) {
  if (!r.object(v, {"path", "dtype", "shape", "local_shape", "scales",
                    "sharding", "location"}) ||
      !r.string(v, "path", p.path))
    return false;
  return r.within(p.path, [&] {
    if (!r.dtype(v, p.dtype) || !r.shape(v, p.shape) ||
        !r.shape(v, p.localShape, "local_shape") ||
        !r.string(v, "location", p.location))
      return false;
    const json::Value &scales = *v.get("scales");
    if (scales.kind != json::Value::Kind::Null) {
      p.quantized = true;
      if (!r.within("scales", [&] {
            return r.object(scales,
                            {"dtype", "shape", "local_shape", "layout"}) &&
                   r.dtype(scales, p.scalesDType) &&
                   r.shape(scales, p.scalesShape) &&
                   r.shape(scales, p.scalesLocalShape, "local_shape") &&
                   r.string(scales, "layout", p.scaleLayout);
          }))
        return false;
    }
    return r.within("sharding",
                    [&] { return readSharding(r, *v.get("sharding"), p); });
  });
}

static bool readArg(Reader &r, const json::Value &v, ManifestArg &a) {
  std::string role;
  bool split = v.get("sharding") != nullptr;
  if (!(split ? r.object(v, {"role", "name", "dtype", "shape", "sharding"})
              : r.object(v, {"role", "name", "dtype", "shape"})) ||
      !r.string(v, "role", role) || !r.string(v, "name", a.name) ||
      !r.dtype(v, a.dtype) || !r.shape(v, a.shape) ||
      (split && !readSpec(r, *v.get("sharding"), a.mesh, a.spec)))
    return false;
  auto it = std::find_if(std::begin(kRoles), std::end(kRoles),
                         [&](ArgRole k) { return role == argRoleName(k); });
  if (it == std::end(kRoles))
    return r.fail(*v.get("role"), "unknown role \"" + printable(role) + "\"");
  a.role = *it;
  return true;
}

static bool readEntry(Reader &r, const json::Value &v, ManifestEntry &e) {
  if (!r.object(v, {"name", "symbol", "args"}) ||
      !r.string(v, "name", e.name) || !r.string(v, "symbol", e.symbol))
    return false;
  const json::Value &args = *v.get("args");
  return r.within(e.name, [&] {
    if (!r.array(args, "key 'args'"))
      return false;
    for (const json::Value &a : args.items()) {
      e.args.emplace_back();
      if (!readArg(r, a, e.args.back()))
        return false;
    }
    return true;
  });
}

/// Reads each element of array `key` of `root` with `read`.
template <typename T, typename F>
static bool readList(Reader &r, const json::Value &root, const char *key,
                     std::vector<T> &out, F read) {
  const json::Value &list = *root.get(key);
  return r.within(key, [&] {
    if (!r.array(list, "expected an array"))
      return false;
    for (const json::Value &v : list.items()) {
      out.emplace_back();
      if (!read(r, v, out.back()))
        return false;
    }
    return true;
  });
}

/// The communicator of `e`, if any, is one i32 scalar right after the
/// inputs.
static bool checkCommunicator(const ManifestEntry &e, std::string &problem) {
  std::optional<size_t> at = e.communicatorIndex();
  if (!at)
    return true;
  const ManifestArg &comm = e.args[*at];
  size_t count = std::count_if(e.args.begin(), e.args.end(), [](auto &a) {
    return a.role == ArgRole::Communicator;
  });
  std::string where = "entry '" + e.name + "' communicator '" + comm.name + "'";
  if (count != 1)
    problem = "entry '" + e.name + "' has " + std::to_string(count) +
              " communicators, expected at most one";
  else if (comm.dtype != DType::I32 || !comm.shape.empty())
    problem = where + ": expected i32[], got " +
              std::string(dtypeName(comm.dtype)) + formatShape(comm.shape);
  else if (*at != e.numInputs() ||
           !std::all_of(e.args.begin(), e.args.begin() + *at,
                        [](const ManifestArg &a) { return a.isInput(); }))
    problem = where + ": expected right after the inputs (argument " +
              std::to_string(e.numInputs()) + "), got argument " +
              std::to_string(*at);
  return problem.empty();
}

/// The shape one rank's program takes of a tensor of `shape`: its shard in
/// an SPMD module, the whole tensor otherwise.
static std::vector<int64_t> expectedLocal(const ModuleManifest &m,
                                          const ManifestParam &p,
                                          const std::vector<int64_t> &shape) {
  if (!m.isSpmd() || !p.spec)
    return shape;
  return localShape(shape, *p.spec, m.mesh(p.mesh)->axes);
}

/// Cross-references: names are unique, parameters sorted, every spec names
/// a known mesh and axis, every local shape is what one rank's program
/// takes, the entries all take a communicator or none does, and every
/// parameter argument is a declared parameter's local block.
static bool checkReferences(const ModuleManifest &m, std::string &problem) {
  for (size_t i = 1; i < m.params.size(); ++i)
    if (!(m.params[i - 1].path < m.params[i].path)) {
      problem = "parameters are not sorted by path, each once ('" +
                m.params[i].path + "')";
      return false;
    }
  for (const ManifestParam &p : m.params) {
    if (!p.spec)
      continue;
    const ManifestMesh *mesh = m.mesh(p.mesh);
    if (!mesh) {
      problem =
          "parameter '" + p.path + "' names unknown mesh '" + p.mesh + "'";
      return false;
    }
    for (const std::vector<std::string> &axes : *p.spec)
      for (const std::string &axis : axes)
        if (!findNamed(mesh->axes, axis, &MeshAxis::name)) {
          problem = "parameter '" + p.path + "' names unknown axis '" + axis +
                    "' of mesh '" + p.mesh + "'";
          return false;
        }
  }
  for (const ManifestEntry &e : m.entries) {
    if (!checkCommunicator(e, problem))
      return false;
    if (e.communicatorIndex().has_value() != m.isSpmd()) {
      problem =
          "entry '" + e.name + "' " +
          (m.isSpmd() ? "takes no communicator" : "takes a communicator") +
          " but another entry " + (m.isSpmd() ? "does" : "does not") +
          ": the entries of an SPMD module all take one";
      return false;
    }
  }
  for (const ManifestParam &p : m.params) {
    auto check = [&](const char *what, const std::vector<int64_t> &shape,
                     const std::vector<int64_t> &local) {
      std::vector<int64_t> want = expectedLocal(m, p, shape);
      if (local == want)
        return true;
      problem = "parameter '" + p.path + "' " + what + "local_shape " +
                formatShape(local) + " is not " + formatShape(want) + " (" +
                (m.isSpmd() && p.spec ? "its shard under the spec"
                                      : "the whole tensor: it is not split") +
                ")";
      return false;
    };
    if (!check("", p.shape, p.localShape) ||
        (p.quantized && !check("scales ", p.scalesShape, p.scalesLocalShape)))
      return false;
  }
  std::set<std::string> names;
  for (const ManifestEntry &e : m.entries) {
    if (!names.insert(e.name).second) {
      problem = "entry '" + e.name + "' appears twice";
      return false;
    }
    for (const ManifestArg &a : e.args) {
      if (!a.isParameter())
        continue;
      bool scales = a.role == ArgRole::Scales;
      std::string path = a.paramPath();
      const ManifestParam *p = m.param(path);
      bool matches =
          p && (scales ? p->quantized && a.name == path + ".scales" &&
                             a.dtype == p->scalesDType &&
                             a.shape == p->scalesLocalShape
                       : a.dtype == p->dtype && a.shape == p->localShape);
      if (!matches) {
        problem = "entry '" + e.name + "' argument '" + a.name +
                  "' does not match a declared parameter";
        return false;
      }
    }
  }
  return true;
}

bool nova::rt::parseManifestJson(std::string_view text,
                                 const std::string &source, ModuleManifest &out,
                                 std::string &error) {
  json::Document doc;
  std::string parseError;
  if (!json::parse(text, json::Limits(), doc, parseError)) {
    error = source + ": " + parseError;
    return false;
  }
  const json::Value &root = doc.root();
  error.clear();
  Reader r(source, error);
  ModuleManifest m;
  if (!r.object(root, {"nova_manifest", "model", "nova_version", "target",
                       "meshes", "parameters", "entries"}))
    return false;
  int64_t version;
  if (!r.integer(*root.get("nova_manifest"), "key 'nova_manifest'", version))
    return false;
  if (version != kManifestVersion)
    return r.fail(*root.get("nova_manifest"),
                  "manifest schema version " + std::to_string(version) +
                      ", this build of Nova reads version " +
                      std::to_string(kManifestVersion));
  m.version = static_cast<int>(version);
  if (!r.string(root, "model", m.model) ||
      !r.string(root, "nova_version", m.novaVersion) ||
      !readTarget(r, *root.get("target"), m.target) ||
      !readList(r, root, "meshes", m.meshes, readMesh) ||
      !readList(r, root, "parameters", m.params, readParam) ||
      !readList(r, root, "entries", m.entries, readEntry))
    return false;
  std::string problem;
  if (!checkReferences(m, problem)) {
    error = source + ": " + problem;
    return false;
  }
  out = std::move(m);
  return true;
}
