//===- Runner.h - nova-run's driver -----------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_TOOLS_NOVA_RUN_RUNNER_H
#define NOVA_TOOLS_NOVA_RUN_RUNNER_H

namespace nova::run {

/// The whole nova-run tool; returns the process exit code.
int novaRunMain(int argc, char **argv);

} // namespace nova::run

#endif // NOVA_TOOLS_NOVA_RUN_RUNNER_H
