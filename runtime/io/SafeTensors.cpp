//===- SafeTensors.cpp - Strict safetensors reading and writing -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/MappedFile.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/Text.h"

#include "io/Json.h"

#include <algorithm>
#include <cstring>
#include <tuple>

using namespace nova::rt;

namespace {

struct DTypeEntry {
  const char *name;
  size_t size;
  std::optional<DType> nova;
};

/// Every dtype string of the safetensors format, with its element size and
/// the Nova dtype it loads as (if Nova supports it).
const DTypeEntry kDTypes[] = {
    {"BOOL", 1, DType::Bool},     {"U8", 1, std::nullopt},
    {"I8", 1, DType::I8},         {"F8_E5M2", 1, std::nullopt},
    {"F8_E4M3", 1, std::nullopt}, {"I16", 2, std::nullopt},
    {"U16", 2, std::nullopt},     {"F16", 2, DType::F16},
    {"BF16", 2, DType::BF16},     {"I32", 4, DType::I32},
    {"U32", 4, std::nullopt},     {"F32", 4, DType::F32},
    {"I64", 8, DType::I64},       {"U64", 8, std::nullopt},
    {"F64", 8, std::nullopt},
};

const DTypeEntry *lookupDType(const std::string &name) {
  for (const DTypeEntry &e : kDTypes)
    if (name == e.name)
      return &e;
  return nullptr;
}

} // namespace

const char *nova::rt::safeTensorsDTypeName(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.nova == dtype)
      return e.name;
  return "?";
}

SafeTensorsFile::~SafeTensorsFile() = default;

const SafeTensorInfo *SafeTensorsFile::find(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &entries[it->second];
}

namespace {

/// The JSON header of a mapped safetensors file: its 8-byte little-endian
/// length, then that many bytes starting with '{'.
bool readHeader(const MappedFile &mapping, std::string_view &header,
                std::string &why) {
  uint64_t fileSize = mapping.size();
  if (fileSize < 8) {
    why = "byte 0: truncated: " + std::to_string(fileSize) +
          " bytes, shorter than the 8-byte header length";
    return false;
  }
  const uint8_t *bytes = mapping.data();
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  if (headerSize > kMaxSafeTensorsHeader) {
    why = "byte 0: header length " + std::to_string(headerSize) +
          " exceeds the limit of " + std::to_string(kMaxSafeTensorsHeader) +
          " bytes";
    return false;
  }
  if (headerSize > fileSize - 8) {
    why = "byte 0: header length " + std::to_string(headerSize) +
          " runs past the end of the file (" + std::to_string(fileSize) +
          " bytes)";
    return false;
  }
  header =
      std::string_view(reinterpret_cast<const char *>(bytes + 8), headerSize);
  if (header.empty() || header[0] != '{') {
    why = "byte 8: the header does not start with '{'";
    return false;
  }
  return true;
}

/// A broken rule and the header byte offset of the value breaking it.
struct Problem {
  uint64_t offset = 0;
  std::string rule;
};

bool problem(Problem &why, const json::Value &at, const std::string &rule) {
  why.offset = at.offset;
  why.rule = rule;
  return false;
}

/// The "__metadata__" entry: an object of strings.
bool parseMetadata(const json::Value &value,
                   std::map<std::string, std::string> &meta, Problem &why) {
  if (value.kind != json::Value::Kind::Object)
    return problem(why, value, "__metadata__ is not an object");
  for (const auto &[key, v] : value.members()) {
    if (v.kind != json::Value::Kind::String)
      return problem(why, v,
                     "__metadata__ entry \"" + printable(key) +
                         "\" is not a string");
    meta[std::string(key)] = std::string(v.text());
  }
  return true;
}

/// One tensor's entry, checked against a data section of `dataSize` bytes;
/// `why` is the rule broken (the caller names the tensor).
bool parseEntry(std::string_view name, const json::Value &value,
                uint64_t dataSize, SafeTensorInfo &info, Problem &why) {
  if (value.kind != json::Value::Kind::Object)
    return problem(why, value, "entry is not an object");
  for (const auto &[key, v] : value.members())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      return problem(why, v, "unknown key \"" + printable(key) + "\"");
  const json::Value *dtype = value.get("dtype");
  const json::Value *shape = value.get("shape");
  const json::Value *offsets = value.get("data_offsets");
  if (!dtype || !shape || !offsets)
    return problem(why, value, "missing dtype, shape or data_offsets");
  if (dtype->kind != json::Value::Kind::String)
    return problem(why, *dtype, "dtype is not a string");
  std::string dtypeName(dtype->text());
  const DTypeEntry *entry = lookupDType(dtypeName);
  if (!entry)
    return problem(why, *dtype,
                   "unknown dtype \"" + printable(dtypeName) + "\"");
  info.name = std::string(name);
  info.dtypeName = dtypeName;
  info.dtype = entry->nova;
  info.headerOffset = value.offset;
  if (shape->kind != json::Value::Kind::Array)
    return problem(why, *shape, "shape is not an array");
  if (shape->size() > kMaxSafeTensorsRank)
    return problem(why, *shape,
                   "shape has " + std::to_string(shape->size()) +
                       " dimensions, more than the limit of " +
                       std::to_string(kMaxSafeTensorsRank));
  for (const json::Value &d : shape->items()) {
    std::optional<uint64_t> n = d.asUInt64();
    if (!n || *n > static_cast<uint64_t>(INT64_MAX))
      return problem(why, d, "shape entry is not a non-negative integer");
    info.shape.push_back(static_cast<int64_t>(*n));
  }
  std::optional<int64_t> bytes =
      checkedByteSize(info.shape, static_cast<int64_t>(entry->size));
  if (!bytes)
    return problem(why, *shape,
                   "shape " + formatShape(info.shape) + " of " + dtypeName +
                       " overflows 64 bits");
  if (offsets->kind != json::Value::Kind::Array || offsets->size() != 2)
    return problem(why, *offsets, "data_offsets is not a [begin, end] pair");
  std::optional<uint64_t> begin = offsets->item(0).asUInt64();
  std::optional<uint64_t> end = offsets->item(1).asUInt64();
  if (!begin || !end)
    return problem(why, *offsets, "data_offsets are not non-negative integers");
  if (*begin > *end)
    return problem(why, *offsets,
                   "data_offsets begin " + std::to_string(*begin) +
                       " is after end " + std::to_string(*end));
  if (*end > dataSize)
    return problem(why, *offsets,
                   "data_offsets end " + std::to_string(*end) +
                       " is past the data section (" +
                       std::to_string(dataSize) + " bytes)");
  if (static_cast<uint64_t>(*bytes) != *end - *begin)
    return problem(why, *offsets,
                   "shape " + formatShape(info.shape) + " of " + dtypeName +
                       " needs " + std::to_string(*bytes) +
                       " bytes, data_offsets span " +
                       std::to_string(*end - *begin));
  info.begin = *begin;
  info.end = *end;
  return true;
}

/// The data section must be covered exactly: sorted by offset, each tensor
/// starts where the previous one ended, the last one ends at the end.
bool checkCoverage(const std::vector<SafeTensorInfo> &entries,
                   uint64_t dataSize, Problem &why) {
  uint64_t expected = 0;
  for (const SafeTensorInfo &info : entries) {
    why.offset = info.headerOffset;
    if (info.begin < expected) {
      why.rule = "tensor \"" + printable(info.name) +
                 "\" overlaps the previous tensor (starts at " +
                 std::to_string(info.begin) + ", previous ends at " +
                 std::to_string(expected) + ")";
      return false;
    }
    if (info.begin > expected) {
      why.rule = "gap in the data section before tensor \"" +
                 printable(info.name) + "\" (bytes " +
                 std::to_string(expected) + " to " +
                 std::to_string(info.begin) + " belong to no tensor)";
      return false;
    }
    expected = info.end;
  }
  if (expected != dataSize) {
    why.offset = entries.empty() ? 0 : entries.back().headerOffset;
    why.rule = "the data section has " + std::to_string(dataSize - expected) +
               " trailing bytes that belong to no tensor";
    return false;
  }
  return true;
}

} // namespace

std::unique_ptr<SafeTensorsFile> SafeTensorsFile::open(const std::string &path,
                                                       std::string &error) {
  auto fail = [&](const std::string &message) {
    error = "'" + path + "': " + message;
    return nullptr;
  };
  std::string openError;
  std::shared_ptr<const MappedFile> mapping = MappedFile::open(path, openError);
  if (!mapping) {
    error = openError;
    return nullptr;
  }
  std::string why;
  std::string_view header;
  if (!readHeader(*mapping, header, why))
    return fail(why);
  json::Document doc;
  std::string jsonError;
  if (!json::parse(header, json::Limits(), doc, jsonError))
    return fail("invalid JSON header: " + jsonError);
  const json::Value &root = doc.root();
  if (root.kind != json::Value::Kind::Object)
    return fail("header is not a JSON object");
  size_t tensorCount = root.size() - (root.get("__metadata__") ? 1 : 0);
  if (tensorCount > kMaxSafeTensorsEntries)
    return fail("header byte 0: " + std::to_string(tensorCount) +
                " entries, more than the limit of " +
                std::to_string(kMaxSafeTensorsEntries) + " tensors");

  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->filePath = path;
  uint64_t dataStart = 8 + header.size();
  uint64_t dataSize = mapping->size() - dataStart;
  Problem problem;
  auto failAt = [&](const std::string &what) {
    return fail("header byte " + std::to_string(problem.offset) + ": " + what);
  };
  file->entries.reserve(root.size());
  for (const auto &[name, value] : root.members()) {
    if (name == "__metadata__") {
      if (!parseMetadata(value, file->meta, problem))
        return failAt(problem.rule);
      continue;
    }
    SafeTensorInfo info;
    if (!parseEntry(name, value, dataSize, info, problem))
      return failAt("tensor \"" + printable(name) + "\": " + problem.rule);
    file->entries.push_back(std::move(info));
  }
  std::sort(file->entries.begin(), file->entries.end(),
            [](const SafeTensorInfo &a, const SafeTensorInfo &b) {
              return std::tie(a.begin, a.end, a.name) <
                     std::tie(b.begin, b.end, b.name);
            });
  if (!checkCoverage(file->entries, dataSize, problem))
    return failAt(problem.rule);
  for (size_t i = 0; i < file->entries.size(); ++i)
    file->byName[file->entries[i].name] = i;
  file->dataStart = mapping->data() + dataStart;
  file->dataStartOffset = dataStart;
  file->mapping = std::move(mapping);
  return file;
}

bool SafeTensorsFile::load(const std::string &name, HostTensor &out,
                           std::string &error) const {
  const SafeTensorInfo *info = find(name);
  if (!info) {
    error = "'" + filePath + "': no tensor \"" + printable(name) + "\"";
    return false;
  }
  if (!info->dtype) {
    error = "'" + filePath + "': tensor \"" + printable(name) +
            "\" has dtype " + info->dtypeName + ", which Nova does not load";
    return false;
  }
  out = HostTensor::view(*info->dtype, info->shape, dataStart + info->begin,
                         mapping);
  return true;
}

bool nova::rt::writeSafeTensors(
    const std::string &path,
    const std::vector<std::pair<std::string, HostTensor>> &tensors,
    const std::map<std::string, std::string> &metadata, std::string &error) {
  using json::quote;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : metadata) {
      header += (first ? "" : ",") + quote(k) + ":" + quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (name == "__metadata__") {
      error = "a tensor cannot be named __metadata__";
      return false;
    }
    header += (header.size() > 1 ? "," : "") + quote(name) + ":{\"dtype\":\"" +
              safeTensorsDTypeName(t.dtype()) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i)
      header += (i ? "," : "") + std::to_string(t.shape()[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.sizeInBytes()) + "]}";
    offset += t.sizeInBytes();
  }
  header += "}";
  // Pad the header with spaces so the data section is 8-byte aligned.
  while ((8 + header.size()) % 8 != 0)
    header += ' ';
  uint8_t length[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<uint8_t>(n >> (8 * i));

  AtomicFile file;
  if (!file.open(path, error) || !file.write(length, 8, error) ||
      !file.write(header.data(), header.size(), error))
    return false;
  for (const auto &[name, t] : tensors)
    if (!file.write(t.bytes(), t.sizeInBytes(), error))
      return false;
  return file.commit(error);
}
