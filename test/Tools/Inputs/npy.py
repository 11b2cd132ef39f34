#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a .npy file without numpy (tests run where numpy is absent).

usage: npy.py OUT.npy DESCR SHAPE VALUES
  DESCR  <f4 | <f2 | <i4 | <i8 | |i1 | |b1
  SHAPE  comma-separated dims ("" for a scalar)
  VALUES comma-separated numbers, or fill:N to repeat N, or range to count up
"""
import struct
import sys


def main():
    out, descr, shape_text, values_text = sys.argv[1:5]
    shape = tuple(int(d) for d in shape_text.split(",") if d)
    count = 1
    for d in shape:
        count *= d
    if values_text.startswith("fill:"):
        values = [float(values_text[5:])] * count
    elif values_text == "range":
        values = list(range(count))
    else:
        values = [float(v) for v in values_text.split(",") if v]
    fmt = {"<f4": "f", "<f2": "e", "<i4": "i", "<i8": "q", "|i1": "b",
           "|b1": "?"}[descr]
    if fmt in "iqb?":
        values = [int(v) for v in values]
    data = struct.pack("<%d%s" % (len(values), fmt), *values)
    dims = "".join("%d, " % d for d in shape)
    if len(shape) == 1:
        dims = "%d," % shape[0]
    elif shape:
        dims = dims[:-2]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, dims)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(out, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1") + data)


if __name__ == "__main__":
    main()
