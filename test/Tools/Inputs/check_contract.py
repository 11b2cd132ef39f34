# SPDX-License-Identifier: Apache-2.0
"""Checks that a module's manifest, C header and object agree.

    check_contract.py MANIFEST.json HEADER.h [NM_OUTPUT]

The manifest (nova-opt --emit=manifest) is the contract; the header
(--emit=header) must declare, for every entry, the function and its packed
variant with one parameter per manifest argument in order (name, C type,
const for what the call reads), the argument count and the argument table
(name, kind, dtype, shape, bytes); the object's exported symbols
(`llvm-nm --defined-only --extern-only`) must be exactly the entries'
symbols and their `_args` variants, plus the tier query the header
declares (`const char *<prefix>cpu_tier(void)`, one) and the weak bf16
conversion helpers.
An SPMD entry's communicator is `int32_t <name> /* MPICH MPI_Comm */` in
the prototype at its manifest position, the second parameter of the packed
variant, and absent from the argument count and table (which list the
buffers).
Prints one line per entry checked; exits 1 at the first disagreement.
"""

import json
import re
import sys

C_TYPES = {"f32": ("float", "f32", 4), "bf16": ("nova_bf16_t", "bf16", 2),
           "f16": ("nova_f16_t", "f16", 2), "bool": ("uint8_t", "i1", 1),
           "i8": ("int8_t", "i8", 1), "i32": ("int32_t", "i32", 4),
           "i64": ("int64_t", "i64", 8)}
KINDS = {"input": 0, "state": 0, "parameter": 1, "scales": 1, "output": 2}
HELPERS = {"__truncsfbf2", "__truncdfbf2"}


def fail(message):
    print("contract mismatch: " + message)
    sys.exit(1)


def identifier(name):
    out = re.sub(r"[^A-Za-z0-9]", "_", name)
    return "_" + out if not out or out[0].isdigit() else out


def c_name(arg):
    prefix = {"parameter": "param_", "scales": "param_", "output": "out_"}
    return prefix.get(arg["role"], "") + identifier(arg["name"])


def check_entry(entry, header):
    symbol, args = entry["symbol"], entry["args"]
    comms = [a for a in args if a["role"] == "communicator"]
    buffers = [a for a in args if a["role"] != "communicator"]
    proto = re.search(r"\nvoid " + re.escape(symbol) + r"\(([^)]*)\);", header)
    if not proto:
        fail("no prototype for " + symbol)
    params = [p.strip() for p in proto.group(1).split(",") if p.strip()]
    if len(params) != len(args):
        fail("%s: %d parameters in the header, %d arguments in the manifest"
             % (symbol, len(params), len(args)))
    for param, arg in zip(params, args):
        if arg["role"] == "communicator":
            want = "int32_t %s /* MPICH MPI_Comm */" % identifier(arg["name"])
        else:
            ctype = C_TYPES[arg["dtype"]][0]
            want = ("" if arg["role"] == "output" else "const ") + ctype + " *" + c_name(arg)
        if param != want:
            fail("%s: header has '%s', manifest says '%s'" % (symbol, param, want))
    packed = "void %s_args(void *const *args" % symbol
    packed += "".join(", int32_t %s /* MPICH MPI_Comm */" % identifier(c["name"])
                      for c in comms) + ");"
    if packed not in header:
        fail("no packed variant '%s' for %s" % (packed, symbol))
    upper = identifier(symbol).upper()
    if "#define %s_NUM_ARGS %d\n" % (upper, len(buffers)) not in header:
        fail(symbol + ": wrong or missing _NUM_ARGS")
    table = re.search(r"%s_arg_info\[%d\] = \{\n(.*?)\n\};" %
                      (re.escape(identifier(symbol)), len(buffers)), header, re.S)
    if not table:
        fail(symbol + ": no argument table of the right size")
    for row, arg in zip(table.group(1).split("\n"), buffers):
        elements = 1
        for d in arg["shape"]:
            elements *= d
        ctype, spelling, size = C_TYPES[arg["dtype"]]
        want = '  {"%s", %d, "%s", %d, {%s}, %d},' % (
            arg["name"], KINDS[arg["role"]], spelling, len(arg["shape"]),
            ", ".join(str(d) for d in arg["shape"]), elements * size)
        if row != want:
            fail("%s: table row '%s', manifest says '%s'" % (symbol, row, want))


def main():
    manifest = json.load(open(sys.argv[1]))
    header = open(sys.argv[2]).read()
    entries = manifest["entries"]
    if not entries:
        fail("the manifest has no entries")
    for entry in entries:
        check_entry(entry, header)
        print("entry %s: %d arguments agree" % (entry["symbol"], len(entry["args"])))
    if len(sys.argv) > 3:
        exported = set()
        for line in open(sys.argv[3]):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "TtWw":
                exported.add(parts[2])
        want = {e["symbol"] for e in entries} | {e["symbol"] + "_args" for e in entries}
        queries = re.findall(r"^const char \*(\w+cpu_tier)\(void\);$", header,
                             re.M)
        if len(queries) != 1:
            fail("the header declares %d tier queries, expected 1" % len(queries))
        missing = (want | set(queries)) - exported
        extra = exported - want - set(queries) - HELPERS
        if missing or extra:
            fail("object exports: missing %s, unexpected %s"
                 % (sorted(missing), sorted(extra)))
        print("object: %d entry symbols exported, and %s" % (len(want), queries[0]))


if __name__ == "__main__":
    main()
