//===- Yaml.h - A located, exception-free YAML tree -------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// yaml-cpp reports errors with exceptions and Nova is built without them, so
// Yaml.cpp (the only TU compiled with exceptions) parses a document into this
// plain tree and turns every yaml-cpp exception into a located ParseError.
// The tree keeps what spec import needs and yaml-cpp's Node API loses or
// hides: 1-based line/column of every node, whether a scalar was quoted,
// and duplicate map keys (reported, never silently dropped).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_IMPORT_YAML_H
#define NOVA_PASSES_IMPORT_YAML_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::nova::yaml {

/// One YAML node with its position in the source.
struct Node {
  enum class Kind { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  /// Scalar text (Kind::Scalar only).
  std::string scalar;
  /// The scalar was written quoted ('x' or "x"): always a string.
  bool quoted = false;
  /// Elements of a sequence, in order.
  std::vector<Node> items;
  /// Entries of a map, in document order (keys are scalars; see parse()).
  std::vector<std::pair<Node, Node>> entries;
  /// 1-based position of the node's first character.
  unsigned line = 0, column = 0;

  bool isNull() const { return kind == Kind::Null; }
  bool isScalar() const { return kind == Kind::Scalar; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isMap() const { return kind == Kind::Map; }
  /// "a map", "a sequence", "a scalar 'x'", "null": for diagnostics.
  std::string describe() const;
};

/// A syntax or limit error with its 1-based position.
struct ParseError {
  std::string message;
  unsigned line = 0, column = 0;
};

/// Bounds that keep a hostile document from exhausting the process.
struct Limits {
  /// Nodes visited while converting, counting every expansion of an alias:
  /// an alias "bomb" (nested anchors that expand exponentially) stops here.
  uint64_t maxNodes = 4'000'000;
  /// Aliases may make the converted tree at most this many times larger than
  /// the text: nodes (a document without aliases has at most about one per
  /// byte) and scalar bytes (at most about the text's size) are each
  /// refused past `maxExpansion * text size + kExpansionSlack`, so a
  /// "billion laughs" document stops after a few times its own size.
  uint64_t maxExpansion = 4;
  static constexpr uint64_t kExpansionSlack = 4096;
  /// Nesting of the converted tree, counting the levels aliases add; an
  /// alias inside its own anchor (a cycle) is reported before this.
  unsigned maxDepth = 500;
};

/// Parses `text` (one YAML document; an empty document is a null node).
/// Map keys must be scalars and unique. Returns false and fills `error` on
/// failure.
bool parse(llvm::StringRef text, const Limits &limits, Node &root,
           ParseError &error);

} // namespace mlir::nova::yaml

#endif // NOVA_PASSES_IMPORT_YAML_H
