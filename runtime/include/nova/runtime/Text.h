//===- Text.h - Untrusted text in messages ----------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Part of NovaNumerics: no LLVM/MLIR, no threads, no IO. Every message that
// echoes a name or value taken from an input (tensor names, keys, paths,
// YAML scalars, regexes) passes it through `printable` first, so a name
// holding a newline, NUL, an escape sequence or invalid UTF-8 cannot forge
// log lines or terminal control sequences.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_TEXT_H
#define NOVA_RUNTIME_TEXT_H

#include <cstddef>
#include <string>
#include <string_view>

namespace nova::rt {

/// `text` with every byte that is not printable ASCII (0x20..0x7e) and every
/// backslash written as a C escape: \n \r \t \\ and \xHH for the rest, so
/// the result is one line of printable ASCII that names `text` exactly.
/// Longer than `maxBytes` input bytes, the rest is cut and replaced by
/// "...(N more bytes)"; 0 means no limit.
std::string printable(std::string_view text, std::size_t maxBytes = 256);

} // namespace nova::rt

#endif // NOVA_RUNTIME_TEXT_H
