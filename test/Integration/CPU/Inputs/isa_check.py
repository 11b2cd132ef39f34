"""Checks the instruction-set level of each function of a disassembly.

usage: isa_check.py DISASSEMBLY RULE...

DISASSEMBLY is `llvm-objdump -d` output (with the instruction bytes). Each
function's level is the highest of its instructions':
  base  x86-64 (SSE2) encodings only
  vex   VEX-encoded (AVX, AVX2, FMA, ...: x86-64-v3)
  evex  EVEX-encoded (AVX-512: x86-64-v4 and up)
  amx   AMX tile instructions
A RULE is FUNCTION<=LEVEL (at most) or FUNCTION>=LEVEL (at least); FUNCTION
'*' is every function the other rules do not name. Prints one line per
function and fails on the first rule broken.
"""
import re
import sys

LEVELS = ["base", "vex", "evex", "amx"]
# Prefixes that may precede a VEX or EVEX escape byte in 64-bit mode
# (address size, segment overrides); REX and 66/F2/F3 may not.
PREFIXES = {0x67, 0x2E, 0x3E, 0x26, 0x64, 0x65, 0x36}
# Extensions beyond x86-64-v3 that keep a VEX encoding.
VEX_BEYOND_V3 = re.compile(r"^\{vex\}|^(vpdpbusds?|vpdpwssds?|vcvtneps2bf16)$")


def level(raw, mnemonic):
    if mnemonic.startswith(("tile", "ldtilecfg", "sttilecfg", "tdp")):
        return "amx"
    i = 0
    while i < len(raw) and raw[i] in PREFIXES:
        i += 1
    if i < len(raw) and raw[i] == 0x62:
        return "evex"
    if i < len(raw) and raw[i] in (0xC4, 0xC5):
        # A VEX instruction of a later extension (AVX-VNNI, AVX-NE-CONVERT)
        # is as far beyond v3 as AVX-512 is.
        return "evex" if VEX_BEYOND_V3.match(mnemonic) else "vex"
    return "base"


def parse(path):
    functions, current = {}, None
    for line in open(path):
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line.strip())
        if m:
            current = m.group(1)
            functions.setdefault(current, "base")
            continue
        m = re.match(r"^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(\S+)", line)
        if m and current:
            raw = [int(b, 16) for b in m.group(1).split()]
            lv = level(raw, m.group(2))
            if LEVELS.index(lv) > LEVELS.index(functions[current]):
                functions[current] = lv
    return functions


def main():
    functions = parse(sys.argv[1])
    rules = []
    for rule in sys.argv[2:]:
        m = re.match(r"^(.+?)(<=|>=)(base|vex|evex|amx)$", rule)
        if not m:
            sys.exit("bad rule: %s" % rule)
        rules.append(m.groups())
    named = {r[0] for r in rules if r[0] != "*"}
    for name in named:
        if name not in functions:
            sys.exit("no function %s in %s" % (name, sys.argv[1]))
    for name in sorted(functions):
        got = functions[name]
        print("%s: %s" % (name, got))
        for fn, op, want in rules:
            if fn != name and not (fn == "*" and name not in named):
                continue
            a, b = LEVELS.index(got), LEVELS.index(want)
            if (op == "<=" and a > b) or (op == ">=" and a < b):
                sys.exit("%s is %s, expected %s %s" % (name, got, op, want))


main()
