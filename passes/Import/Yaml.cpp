//===- Yaml.cpp - yaml-cpp to a located, exception-free tree --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiled with exceptions (see CMakeLists.txt); no exception leaves it.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/Yaml.h"

#include "nova/runtime/Text.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

using namespace mlir::nova::yaml;

std::string Node::describe() const {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Scalar:
    return "a scalar '" + ::nova::rt::printable(scalar) + "'";
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
///
/// yaml-cpp resolves an alias to the anchored node itself, so an alias
/// inside its own anchor (`&x [*x]`) is a cycle in its tree and aliases in
/// general share subtrees: the walk keeps its path to detect cycles, caps
/// its depth and counts every node and scalar byte it copies, expansions of
/// aliases included.
class Converter {
public:
  Converter(const Limits &limits, uint64_t textBytes, ParseError &error)
      : limits(limits), error(error) {
    uint64_t budget = UINT64_MAX;
    if (textBytes <= (UINT64_MAX - Limits::kExpansionSlack) /
                         std::max<uint64_t>(limits.maxExpansion, 1))
      budget = limits.maxExpansion * textBytes + Limits::kExpansionSlack;
    maxNodes = std::min(limits.maxNodes, budget);
    maxScalarBytes = budget;
  }

  bool convert(const YAML::Node &in, Node &out) {
    if (++visited > maxNodes)
      return fail(in, "the document expands to more than " +
                          std::to_string(maxNodes) +
                          " nodes (nested aliases?)");
    YAML::Mark mark = in.Mark();
    out.line = mark.line >= 0 ? mark.line + 1 : 0;
    out.column = mark.column >= 0 ? mark.column + 1 : 0;
    switch (in.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = Node::Kind::Null;
      return true;
    case YAML::NodeType::Scalar:
      scalarBytes += in.Scalar().size();
      if (scalarBytes > maxScalarBytes)
        return fail(in, "the document's scalars expand to more than " +
                            std::to_string(maxScalarBytes) +
                            " bytes (aliases of long scalars?)");
      out.kind = Node::Kind::Scalar;
      out.scalar = in.Scalar();
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      out.quoted = in.Tag() == "!";
      return true;
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map:
      return convertCollection(in, out);
    }
    return fail(in, "unsupported YAML node");
  }

private:
  bool convertCollection(const YAML::Node &in, Node &out) {
    for (const YAML::Node &ancestor : path)
      if (ancestor.Mark().pos == in.Mark().pos && ancestor.is(in))
        return fail(in, "an alias refers to the anchor of a node that "
                        "contains it (an alias cycle)");
    if (path.size() >= limits.maxDepth)
      return fail(in, "the document nests deeper than " +
                          std::to_string(limits.maxDepth) +
                          " levels (counting the levels aliases add)");
    path.push_back(in);
    bool ok = in.IsSequence() ? convertSequence(in, out) : convertMap(in, out);
    path.pop_back();
    return ok;
  }

  bool convertSequence(const YAML::Node &in, Node &out) {
    out.kind = Node::Kind::Sequence;
    out.items.resize(in.size());
    std::size_t i = 0;
    for (auto it = in.begin(); it != in.end(); ++it, ++i)
      if (!convert(*it, out.items[i]))
        return false;
    return true;
  }

  bool convertMap(const YAML::Node &in, Node &out) {
    out.kind = Node::Kind::Map;
    out.entries.reserve(in.size());
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
        return fail(it->first, "duplicate key '" +
                                   ::nova::rt::printable(key.scalar) +
                                   "' (first at line " +
                                   std::to_string(pos->second) + ")");
      out.entries.emplace_back(std::move(key), std::move(value));
    }
    return true;
  }

  bool fail(const YAML::Node &at, const std::string &message) {
    YAML::Mark mark = at.Mark();
    error.message = message;
    error.line = mark.line >= 0 ? mark.line + 1 : 0;
    error.column = mark.column >= 0 ? mark.column + 1 : 0;
    return false;
  }

  const Limits &limits;
  ParseError &error;
  uint64_t maxNodes, maxScalarBytes;
  uint64_t visited = 0, scalarBytes = 0;
  /// The collections from the root to the node being converted.
  std::vector<YAML::Node> path;
};

/// Remembers where the last document started (the events of its content
/// are dropped: no tree is built).
struct DocumentStarts : YAML::EventHandler {
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark &mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t,
                const std::string &) override {}
  void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
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
    // Count the documents first, without building a tree, and stop at the
    // second: YAML::LoadAll keeps returning empty documents after a stray
    // ',' at the top level ("a",), taking memory until it runs out.
    std::string buffer = text.str();
    std::optional<YAML::Mark> second;
    bool any = false;
    {
      std::istringstream in(buffer);
      YAML::Parser parser(in);
      DocumentStarts starts;
      any = parser.HandleNextDocument(starts);
      if (any && parser.HandleNextDocument(starts))
        second = starts.last;
    }
    if (second) {
      setError(error, *second,
               "expected one YAML document; another starts here (a second "
               "document, or a stray ',' after the first)");
      return false;
    }
    Converter converter(limits, text.size(), error);
    if (!any) {
      root = Node();
      root.line = root.column = 1;
      return true;
    }
    return converter.convert(YAML::Load(buffer), root);
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
