# SPDX-License-Identifier: Apache-2.0
"""Writes hostile inputs for the runtime's readers (test/Tools/hostile-*.test).

  hostile_readers.py numbers OUT.safetensors MB
      a safetensors file whose MB-megabyte JSON header is one array of
      small numbers (two bytes of text per value) in __metadata__
  hostile_readers.py name OUT.safetensors
      a safetensors file whose one tensor's name holds a newline, text that
      looks like a message, and a terminal escape sequence; its shape does
      not match its bytes
  hostile_readers.py npy-key OUT.npy
      an .npy file whose header has a key with a newline and an escape
"""

import json
import struct
import sys


def safetensors(path, header, data=b""):
    h = header.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main(argv):
    what, out = argv[1], argv[2]
    if what == "numbers":
        size = int(argv[3]) * 1_000_000
        prefix, suffix = '{"__metadata__":{"k":[', "]}}"
        count = (size - len(prefix) - len(suffix) + 1) // 2
        safetensors(out, prefix + ",".join(["1"] * count) + suffix)
    elif what == "name":
        name = "a\nnova-ckpt: ok \x1b[2J"
        entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}
        safetensors(out, json.dumps({name: entry}), b"abcd")
    elif what == "npy-key":
        h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), " \
            "'x\nnova-run: ok \x1b[2J': 1}"
        h += " " * ((64 - (11 + len(h)) % 64) % 64) + "\n"
        with open(out, "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) +
                    h.encode() + b"\0" * 32)
    else:
        sys.exit("unknown input kind " + what)


if __name__ == "__main__":
    main(sys.argv)
