"""Runs a multi-tier slot-adapter application once per tier.

usage: run_tiers.py CC EXPECTED APP ARG... -- TIER...

TIERs are the object's --target-cpu list, the baseline first. The features
each tier needs are what CC (clang) defines for -march=TIER; the host has
what /proc/cpuinfo lists. For every tier the host has, NOVA_CPU_TIER=TIER
must run it (the app's stderr says "kernels: TIER") and print EXPECTED's
tokens; for one it lacks, the run must be refused naming exactly the
missing features. Without NOVA_CPU_TIER the app must run the last tier the
host has; with an unknown name it must be refused naming the tiers.
"""
import os
import subprocess
import sys

from host_cpu import FEATURES, lacking


def tier_features(cc, cpu):
    macros = subprocess.run(
        cc.split() + ["-march=" + cpu, "-dM", "-E", "-x", "c", os.devnull],
        check=True, capture_output=True, text=True).stdout.split()
    return [f for f in FEATURES
            if "__%s__" % f.upper().replace(".", "_").replace("-", "_")
            in macros]


def main():
    cc, expected, rest = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3:]
    split = rest.index("--")
    app, tiers = rest[:split], rest[split + 1:]

    def run(tier):
        env = dict(os.environ)
        env.pop("NOVA_CPU_TIER", None)
        if tier is not None:
            env["NOVA_CPU_TIER"] = tier
        return subprocess.run(app, env=env, capture_output=True, text=True)

    runnable = []
    for tier in tiers:
        missing = lacking(tier_features(cc, tier))
        r = run(tier)
        if not missing:
            runnable.append(tier)
            assert r.returncode == 0, (tier, r.stderr)
            assert "kernels: %s\n" % tier in r.stderr, (tier, r.stderr)
            assert r.stdout == expected, (tier, r.stdout, expected)
            print("%s: ran, the interpreter's tokens" % tier)
        else:
            assert r.returncode != 0, (tier, "ran without", missing)
            line = [l for l in r.stderr.splitlines()
                    if "for a tier this CPU lacks:" in l][0]
            listed = line.split("lacks:")[1].split()
            assert sorted(listed) == sorted(missing), (tier, listed, missing)
            print("%s: refused, naming exactly the missing features" % tier)
    r = run(None)
    if runnable:
        assert r.returncode == 0 and r.stdout == expected, r.stderr
        assert "kernels: %s\n" % runnable[-1] in r.stderr, r.stderr
        print("default: the last tier the host has")
    else:
        assert r.returncode != 0 and "this CPU lacks:" in r.stderr, r.stderr
        print("default: refused (the host lacks the baseline)")
    r = run("pentium")
    assert r.returncode != 0, r.stderr
    assert ("NOVA_CPU_TIER=pentium is not a tier of 'moe-sampling-adapter' "
            "(its tiers: %s)" % ", ".join(tiers)) in r.stderr, r.stderr
    print("unknown tier: refused, naming the tiers")


main()
