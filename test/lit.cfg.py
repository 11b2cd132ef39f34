# SPDX-License-Identifier: Apache-2.0
# -*- Python -*-
"""lit configuration for Nova's regression tests (run by `ninja check-nova`)."""

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NOVA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".yaml", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt", "Inputs",
                   "Unit", "Bench", "corpus"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nova_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", config.llvm_shlib_ext))
config.substitutions.append(("%mlir_lib_dir", config.llvm_lib_dir))
config.substitutions.append(("%nova_src_root", config.nova_src_root))
config.substitutions.append(("%nova_obj_root", config.nova_obj_root))
# A C compiler for the AOT tests (LLVM 22's clang) and the runtime library.
# In the sanitizer build the runtime library is instrumented, so programs
# linking it are built with the same sanitizers.
sanitize = [s for s in config.nova_sanitize.split(",") if s]
cc = os.path.join(config.llvm_tools_dir, "clang")
if sanitize:
    cc += " -fsanitize=%s" % ",".join(sanitize)
config.substitutions.append(("%cc", cc))
config.substitutions.append(("%nova_runtime_lib",
                             os.path.join(config.nova_obj_root, "lib",
                                          "libNovaRuntime.a")))
# Linking the OpenMP runtime that compiled kernels call (docs/abi.md).
omp_dir = os.path.dirname(config.nova_libomp)
config.substitutions.append(("%omp_link",
                             "-L%s -lomp -Wl,-rpath,%s" % (omp_dir, omp_dir)))

# Every FileCheck variable is scoped to its CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()
# `not`, `split-file` and Nova's tools at the start of a RUN line.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.nova_tools_dir, append_path=True)
llvm_config.with_system_environment(["HOME", "TMPDIR", "TMP", "TEMP"])
# Compiled objects are cached in the build tree, never in the user's home
# (tests that exercise the cache set NOVA_CACHE_DIR themselves).
config.environment["NOVA_CACHE_DIR"] = os.path.join(config.nova_obj_root,
                                                   "compile-cache")

tools = ["nova-opt", "nova-run", "nova-ckpt", "split-file", "mlir-opt", "mlir-runner"]
tool_dirs = [config.nova_tools_dir, config.llvm_tools_dir]

# NOVA_VERIFY_ROUNDTRIP=1 turns every nova-opt into nova-opt --verify-roundtrip.
if os.environ.get("NOVA_VERIFY_ROUNDTRIP") == "1":
    tools[0] = ToolSubst("nova-opt", command=os.path.join(
        config.nova_tools_dir, "nova-opt"), extra_args=["--verify-roundtrip"])

llvm_config.add_tool_substitutions(tools, tool_dirs)

# The CUDA toolkit (ptxas, the driver stub): CUDA tests say `REQUIRES: cuda`.
if config.nova_have_cuda:
    config.available_features.add("cuda")
    config.substitutions.append(
        ("%ptxas", os.path.join(config.nova_cuda_root, "bin", "ptxas")))
    config.substitutions.append(
        ("%cuda_stub_lib", os.path.join(config.nova_cuda_root, "lib64",
                                        "stubs", "libcuda.so")))
    config.substitutions.append(
        ("%nova_runtime_cuda_lib", os.path.join(config.nova_obj_root, "lib",
                                                "libNovaRuntimeCuda.a")))
# MPICH (mpirun.mpich and libmpich.so.12, no headers needed): SPMD programs
# run as one process per rank. Tests that need it say `REQUIRES: mpich`;
# without MPICH they are reported unsupported.
import glob
mpirun = shutil.which("mpirun.mpich")
libmpich = sorted(glob.glob("/usr/lib/*/libmpich.so.12") +
                  glob.glob("/usr/lib/libmpich.so.12"))
if mpirun and libmpich:
    config.available_features.add("mpich")
    config.substitutions.append(("%mpirun", mpirun))
    config.substitutions.append(("%libmpich", libmpich[0]))
# util-linux's taskset, to run a command on fewer cores.
if shutil.which("taskset"):
    config.available_features.add("taskset")

# The reference libraries of the formats Nova shares (safetensors, NumPy,
# ml_dtypes), installed from PyPI by scripts/test.sh into NOVA_PYDEPS. Tests
# that need them say `REQUIRES: interop`; without them they are reported
# unsupported (scripts/test.sh says why).
import subprocess
pydeps = os.environ.get("NOVA_PYDEPS", "")
if pydeps and subprocess.run(
        [config.python_executable, "-c", "import safetensors, numpy, ml_dtypes"],
        env=dict(os.environ, PYTHONPATH=pydeps),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
    config.available_features.add("interop")
    config.substitutions.append(
        ("%interop_python", "env PYTHONPATH=%s %s" % (pydeps, config.python_executable)))

# The sanitizer build (scripts/test.sh's second stage, NOVA_SANITIZE): every
# finding aborts the tool; leaks are findings.
if sanitize:
    config.available_features.add("sanitizers")
    if "address" in sanitize:
        config.available_features.add("asan")
    supp = os.path.join(config.nova_src_root, "test", "lsan.supp")
    config.environment["ASAN_OPTIONS"] = (
        "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:"
        "allocator_may_return_null=1:allow_user_poisoning=0")
    config.environment["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % supp
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    # UCX (MPICH's transport) patches allocator symbols for its memory
    # events, which jumps into the void under ASan's interceptors.
    config.environment["UCX_MEM_EVENTS"] = "no"
# `%vmcap KB` in a shell RUN line caps the memory of what follows: an
# address-space limit (ulimit -v KB), or under ASan, whose shadow memory
# needs terabytes of address space, a 3 GiB RSS limit ASan enforces itself.
if "asan" in config.available_features:
    config.substitutions.append(
        ("%vmcap", 'export ASAN_OPTIONS="$ASAN_OPTIONS:hard_rss_limit_mb=3072"; :'))
else:
    config.substitutions.append(("%vmcap", "ulimit -v"))
# The malformed-input corpora (test/Tools/malformed-*.test) cap peak RSS
# instead of the address space under ASan.
config.substitutions.append(
    ("%malformed_flags", "--asan" if "asan" in config.available_features else ""))
# libFuzzer targets (NOVA_FUZZERS): each test/Fuzz/*.test runs one for
# NOVA_FUZZ_SECONDS (default 10) over its seed corpus.
if config.nova_fuzzers:
    config.available_features.add("fuzzers")
fuzz_seconds = int(os.environ.get("NOVA_FUZZ_SECONDS", "10"))
config.substitutions.append(("%fuzz_seconds", str(fuzz_seconds)))
# The smoke runs are reproducible (seed 1); NOVA_FUZZ_SEED=0 picks a new
# seed each run, as a campaign should.
config.substitutions.append(("%fuzz_seed", os.environ.get("NOVA_FUZZ_SEED", "1")))
# A target that stops answering (a deadlock, a loop the per-input timeout
# does not catch) fails instead of holding the suite.
config.substitutions.append(("%fuzz_deadline", str(fuzz_seconds + 120)))
