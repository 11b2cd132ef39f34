//===- Yaml.cpp - yaml-cpp to a located, exception-free tree --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiled with exceptions (see CMakeLists.txt); no exception leaves it.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/Yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <map>

using namespace mlir::nova::yaml;

std::string Node::describe() const {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Scalar:
    return "a scalar '" + scalar + "'";
  case Kind::Sequence:
    return "a sequence";
  case Kind::Map:
    return "a map";
  }
  return "a node";
}

namespace {

/// Converts yaml-cpp nodes into Node, enforcing the limits and the
/// scalar-unique-keys rule. Reports the first problem through `error`.
class Converter {
public:
  Converter(const Limits &limits, ParseError &error)
      : limits(limits), error(error) {}

  bool convert(const YAML::Node &in, Node &out) {
    if (++visited > limits.maxNodes) {
      return fail(in, "the document expands to more than " +
                          std::to_string(limits.maxNodes) +
                          " nodes (nested aliases?)");
    }
    YAML::Mark mark = in.Mark();
    out.line = mark.line >= 0 ? mark.line + 1 : 0;
    out.column = mark.column >= 0 ? mark.column + 1 : 0;
    switch (in.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = Node::Kind::Null;
      return true;
    case YAML::NodeType::Scalar:
      out.kind = Node::Kind::Scalar;
      out.scalar = in.Scalar();
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      out.quoted = in.Tag() == "!";
      return true;
    case YAML::NodeType::Sequence:
      out.kind = Node::Kind::Sequence;
      out.items.resize(in.size());
      for (std::size_t i = 0; i < in.size(); ++i)
        if (!convert(in[i], out.items[i]))
          return false;
      return true;
    case YAML::NodeType::Map: {
      out.kind = Node::Kind::Map;
      std::map<std::string, unsigned> seen;
      for (auto it = in.begin(); it != in.end(); ++it) {
        Node key, value;
        if (!convert(it->first, key) || !convert(it->second, value))
          return false;
        if (!key.isScalar())
          return fail(it->first,
                      "expected a scalar map key, got " + key.describe());
        auto [pos, inserted] = seen.emplace(key.scalar, key.line);
        if (!inserted)
          return fail(it->first, "duplicate key '" + key.scalar +
                                     "' (first at line " +
                                     std::to_string(pos->second) + ")");
        out.entries.emplace_back(std::move(key), std::move(value));
      }
      return true;
    }
    }
    return fail(in, "unsupported YAML node");
  }

private:
  bool fail(const YAML::Node &at, const std::string &message) {
    YAML::Mark mark = at.Mark();
    error.message = message;
    error.line = mark.line >= 0 ? mark.line + 1 : 0;
    error.column = mark.column >= 0 ? mark.column + 1 : 0;
    return false;
  }

  const Limits &limits;
  ParseError &error;
  uint64_t visited = 0;
};

void setError(ParseError &error, const YAML::Mark &mark,
              const std::string &message) {
  error.message = message;
  error.line = mark.line >= 0 ? mark.line + 1 : 0;
  error.column = mark.column >= 0 ? mark.column + 1 : 0;
}

} // namespace

bool mlir::nova::yaml::parse(llvm::StringRef text, const Limits &limits,
                             Node &root, ParseError &error) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text.str());
    if (docs.size() > 1) {
      setError(error, docs[1].Mark(),
               "expected one YAML document, got " +
                   std::to_string(docs.size()) +
                   " (a second document starts here)");
      return false;
    }
    Converter converter(limits, error);
    if (docs.empty()) {
      root = Node();
      root.line = root.column = 1;
      return true;
    }
    return converter.convert(docs[0], root);
  } catch (const YAML::DeepRecursion &e) {
    setError(error, e.mark,
             "YAML nesting is deeper than " + std::to_string(e.depth()) +
                 " levels (yaml-cpp's recursion limit)");
  } catch (const YAML::ParserException &e) {
    setError(error, e.mark, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception &e) {
    setError(error, e.mark, "YAML error: " + e.msg);
  } catch (const std::bad_alloc &) {
    error = {"out of memory while parsing YAML", 0, 0};
  } catch (const std::exception &e) {
    error = {std::string("YAML error: ") + e.what(), 0, 0};
  } catch (...) {
    error = {"unknown error while parsing YAML", 0, 0};
  }
  return false;
}
