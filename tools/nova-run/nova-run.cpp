//===- nova-run.cpp - Run a Nova module -----------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//   nova-run MODULE (.mlir | .yaml) --params CKPT.safetensors
//            [--entry NAME] [--input NAME=FILE.npy ...] [--outputs DIR]
//            [--backend interp] [--check BACKEND] [--seed N]
//   nova-run MODULE --random-params OUT.safetensors [--seed N]
//   nova-run MODULE --params CKPT --generate N --prompt 1,2,3 [--seed N]
//
// Every bad input (module, checkpoint, .npy, flag) is reported with what was
// expected and a non-zero exit; outputs are written atomically.
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Runner.h"

#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  return nova::run::novaRunMain(argc, argv);
}
