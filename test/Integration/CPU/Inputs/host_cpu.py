"""What the host CPU has, for the tests of objects' CPU checks and tiers.

Feature names are LLVM's (those an object's CPU check looks at); the host's
come from /proc/cpuinfo.
"""

# The features beyond x86-64 an object's CPU check and tier choice look at.
FEATURES = """sse3 ssse3 fma sse4.1 sse4.2 movbe popcnt avx f16c bmi avx2 bmi2
avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512vbmi avx512vbmi2
gfni vaes vpclmulqdq avx512vnni avx512bitalg avx512vpopcntdq amx-bf16
avx512fp16 amx-tile amx-int8 avxvnni avx512bf16 lzcnt""".split()

# LLVM feature name -> /proc/cpuinfo flag, where they differ.
CPUINFO = {
    "sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2", "bmi": "bmi1",
    "lzcnt": "abm", "avx512fp16": "avx512_fp16", "avx512vnni": "avx512_vnni",
    "avx512bf16": "avx512_bf16", "avx512vbmi2": "avx512_vbmi2",
    "avx512bitalg": "avx512_bitalg", "avx512vpopcntdq": "avx512_vpopcntdq",
    "amx-bf16": "amx_bf16", "amx-tile": "amx_tile", "amx-int8": "amx_int8",
    "avxvnni": "avx_vnni",
}


def host_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def lacking(features):
    """The features of `features` (LLVM names) the host lacks, in order."""
    flags = host_flags()
    return [f for f in features if CPUINFO.get(f, f) not in flags]
