"""Checks an object's CPU check against /proc/cpuinfo.

usage: cpu_check.py RC OUTPUT_FILE FEATURE...

FEATURES are the LLVM names the object needs beyond x86-64 (those the check
knows). With rc 0 the program must have run and the host must have every
feature; otherwise it must have aborted, listing exactly the features the
host lacks.
"""
import sys

from host_cpu import lacking

rc, output, features = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3:]
missing = lacking(features)
if rc == 0:
    assert "ran" in output, output
    assert not missing, "ran, but the host lacks %s" % missing
    print("ran: the host has every feature")
else:
    line = [l for l in output.splitlines() if "this CPU lacks:" in l][0]
    listed = line.split("this CPU lacks:")[1].split()
    assert sorted(listed) == sorted(missing), (listed, missing)
    print("refused, naming exactly the missing features")
