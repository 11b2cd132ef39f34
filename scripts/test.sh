#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds Nova and runs every test: the lit/FileCheck suite (check-nova) and
# the GoogleTest unit tests (ctest). Ends with one summary line counting all
# results; exits non-zero if anything failed. NOVA_TEST_LONG=1 runs the long
# differential modes as well.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NOVA_BUILD_DIR:-$root/build}"
jobs="${NOVA_TEST_JOBS:-$(nproc)}"

start=$(date +%s)
total_passed=0; total_failed=0; total_skipped=0; details=()

# Runs lit and ctest in build dir $1 and adds their counts to the totals;
# $2 names the stage in the summary.
run_suite() {
  local build="$1" stage="$2"
  local lit="$(llvm-config-22 --prefix)/bin/lit"
  local lit_log="$build/lit-results.txt" ctest_log="$build/ctest-results.txt"
  "$lit" -sv -j "$jobs" "$build/test" 2>&1 | tee "$lit_log"
  local lit_rc=${PIPESTATUS[0]}
  # Compiled objects are cached in the build tree, not in the home
  # directory (lit.cfg.py does the same for lit).
  NOVA_CACHE_DIR="$build/compile-cache" \
    ctest --test-dir "$build" -j "$jobs" --output-on-failure 2>&1 | tee "$ctest_log"
  local ctest_rc=${PIPESTATUS[0]}

  # lit: "  Passed     : N (..)", "  Failed: N (..)" and friends (names padded
  # to one width when several are listed); ctest: "... tests
  # failed out of N". A runner that fails without counting counts as a failure.
  count() {
    local n
    n=$(grep -E "^ *$1 *: *[0-9]+" "$lit_log" | head -1 | sed -E 's/^ *[^:]+: *([0-9]+).*/\1/')
    echo "${n:-0}"
  }
  local lit_pass=$(( $(count Passed) + $(count 'Expectedly Failed') ))
  local lit_unsupported=$(count Unsupported)
  local lit_fail=$(( $(count Failed) + $(count 'Unexpectedly Passed') + $(count Unresolved) + $(count 'Timed Out') ))
  if [ "$lit_rc" -ne 0 ] && [ "$lit_fail" -eq 0 ]; then lit_fail=1; fi
  local ct_line ct_total=0 ct_fail=0
  ct_line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ctest_log" | tail -1)
  if [ -n "$ct_line" ]; then
    ct_total=$(echo "$ct_line" | sed -E 's/.*out of ([0-9]+).*/\1/')
    ct_fail=$(echo "$ct_line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
  fi
  if [ "$ctest_rc" -ne 0 ] && [ "$ct_fail" -eq 0 ]; then ct_fail=1; fi
  # GTEST_SKIP'ed tests (e.g. GPU tests without a GPU) count as skipped.
  local ct_skip
  ct_skip=$(grep -E '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$ctest_log" | sort -u | wc -l)
  total_passed=$(( total_passed + lit_pass + ct_total - ct_fail - ct_skip ))
  total_failed=$(( total_failed + lit_fail + ct_fail ))
  total_skipped=$(( total_skipped + lit_unsupported + ct_skip ))
  details+=("$stage: lit $lit_pass passed, $lit_unsupported unsupported, $lit_fail failed; unit $(( ct_total - ct_fail - ct_skip )) passed, $ct_skip skipped, $ct_fail failed")
}

if ! bash "$root/scripts/build.sh" all nova-unittests nova-doc; then
  echo "nova tests: 0 passed, 1 failed (the build failed)"
  exit 1
fi
echo "build finished in $(( $(date +%s) - start )) s"

# Test-only references for the interop tests (never a dependency of Nova
# itself): the official safetensors, NumPy and ml_dtypes from PyPI.
pydeps="$build/pydeps"
if PYTHONPATH="$pydeps" python3 -c "import safetensors, numpy, ml_dtypes" 2>/dev/null ||
   python3 -m pip install --quiet --disable-pip-version-check --timeout 30 --retries 2 --target "$pydeps" \
     safetensors numpy ml_dtypes >"$build/pydeps.log" 2>&1; then
  export NOVA_PYDEPS="$pydeps"
else
  echo "nova tests: cannot install safetensors, numpy and ml_dtypes from PyPI" \
       "(see $build/pydeps.log): the interop tests are skipped (unsupported)"
fi

run_suite "$build" release

# Second stage: the whole suite again in a build with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer, plus the libFuzzer targets
# (each runs NOVA_FUZZ_SECONDS over its seed corpus). NOVA_TEST_SANITIZERS=0
# skips it. ASan's options: allow_user_poisoning=0, because LLVM's
# BumpPtrAllocator poisons its slabs in Nova's instrumented copies of the
# inline code but not in libLLVM's, so slabs shared across that line would
# read as poisoned; UCX_MEM_EVENTS=no, because UCX's allocator hooks (MPICH's
# transport) clash with ASan's interceptors.
if [ "${NOVA_TEST_SANITIZERS:-1}" != 0 ]; then
  san_build="${NOVA_SAN_BUILD_DIR:-$root/build-san}"
  san_start=$(date +%s)
  if NOVA_BUILD_DIR="$san_build" \
     NOVA_CMAKE_ARGS="-DNOVA_SANITIZE=address,undefined -DNOVA_FUZZERS=ON" \
     bash "$root/scripts/build.sh" nova-opt nova-run nova-ckpt nova-doc \
       NovaBackendsTests nova-unittests nova-fuzzers; then
    echo "sanitizer build finished in $(( $(date +%s) - san_start )) s"
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:allocator_may_return_null=1:allow_user_poisoning=0" \
    LSAN_OPTIONS="suppressions=$root/test/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    UCX_MEM_EVENTS=no \
      run_suite "$san_build" sanitizers
  else
    total_failed=$(( total_failed + 1 ))
    details+=("sanitizers: the build failed")
  fi
fi

summary=$(printf '%s; ' "${details[@]}")
echo "nova tests: $total_passed passed, $total_failed failed, $total_skipped skipped (${summary}$(( $(date +%s) - start )) s)"
[ "$total_failed" -eq 0 ]
