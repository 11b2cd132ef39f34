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

lit="$(llvm-config-22 --prefix)/bin/lit"
lit_log="$build/lit-results.txt"
"$lit" -sv -j "$jobs" "$build/test" 2>&1 | tee "$lit_log"
lit_rc=${PIPESTATUS[0]}

ctest_log="$build/ctest-results.txt"
ctest --test-dir "$build" -j "$jobs" --output-on-failure 2>&1 | tee "$ctest_log"
ctest_rc=${PIPESTATUS[0]}

# lit: "  Passed: N (..)", "  Failed: N (..)" and friends; ctest: "... tests
# failed out of N". A runner that fails without counting counts as a failure.
count() {
  local n
  n=$(grep -E "^ *$1: *[0-9]+" "$lit_log" | head -1 | sed -E 's/^ *[^:]+: *([0-9]+).*/\1/')
  echo "${n:-0}"
}
lit_pass=$(( $(count Passed) + $(count 'Expectedly Failed') ))
lit_unsupported=$(count Unsupported)
lit_fail=$(( $(count Failed) + $(count 'Unexpectedly Passed') + $(count Unresolved) + $(count 'Timed Out') ))
if [ "$lit_rc" -ne 0 ] && [ "$lit_fail" -eq 0 ]; then lit_fail=1; fi
ct_line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ctest_log" | tail -1)
ct_total=0; ct_fail=0
if [ -n "$ct_line" ]; then
  ct_total=$(echo "$ct_line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  ct_fail=$(echo "$ct_line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
fi
if [ "$ctest_rc" -ne 0 ] && [ "$ct_fail" -eq 0 ]; then ct_fail=1; fi
# GTEST_SKIP'ed tests (e.g. GPU tests without a GPU) count as skipped.
ct_skip=$(grep -E '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$ctest_log" | sort -u | wc -l)
passed=$(( lit_pass + ct_total - ct_fail - ct_skip ))
failed=$(( lit_fail + ct_fail ))
echo "nova tests: $passed passed, $failed failed, $(( lit_unsupported + ct_skip )) skipped (lit: $lit_pass passed, $lit_unsupported unsupported, $lit_fail failed; unit: $(( ct_total - ct_fail - ct_skip )) passed, $ct_skip skipped, $ct_fail failed; $(( $(date +%s) - start )) s)"
[ "$failed" -eq 0 ] && [ "$lit_rc" -eq 0 ] && [ "$ctest_rc" -eq 0 ]
