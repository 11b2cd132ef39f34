"""Checks an object's CPU check against /proc/cpuinfo.

usage: cpu_check.py RC OUTPUT_FILE FEATURE...

FEATURES are the LLVM names the object needs beyond x86-64 (those the check
knows). With rc 0 the program must have run and the host must have every
feature; otherwise it must have aborted, listing exactly the features the
host lacks.
"""
import sys

# LLVM feature name -> /proc/cpuinfo flag, where they differ.
CPUINFO = {
    "sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2", "bmi": "bmi1",
    "lzcnt": "abm", "avx512fp16": "avx512_fp16", "avx512vnni": "avx512_vnni",
    "avx512bf16": "avx512_bf16", "avx512vbmi2": "avx512_vbmi2",
    "avx512bitalg": "avx512_bitalg", "avx512vpopcntdq": "avx512_vpopcntdq",
    "amx-bf16": "amx_bf16", "amx-tile": "amx_tile", "amx-int8": "amx_int8",
    "avxvnni": "avx_vnni",
}

rc, output, features = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3:]
flags = set()
for line in open("/proc/cpuinfo"):
    if line.startswith("flags"):
        flags = set(line.split(":", 1)[1].split())
        break
lacking = [f for f in features if CPUINFO.get(f, f) not in flags]
if rc == 0:
    assert "ran" in output, output
    assert not lacking, "ran, but the host lacks %s" % lacking
    print("ran: the host has every feature")
else:
    line = [l for l in output.splitlines() if "this CPU lacks:" in l][0]
    listed = line.split("this CPU lacks:")[1].split()
    assert sorted(listed) == sorted(lacking), (listed, lacking)
    print("refused, naming exactly the missing features")
