#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bounded.sh SECONDS COMMAND...: runs COMMAND for at most SECONDS (then
# SIGTERM, and SIGKILL 5 s later), and prints how it ended, "exit status N"
# or "timed out after SECONDS s", so that FileCheck judges the real exit
# status (lit's `not` would also accept a hang that timeout ended). Exits 0.
limit=$1
shift
timeout --kill-after=5 "$limit" "$@"
status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "timed out after $limit s"
else
  echo "exit status $status"
fi
