# SPDX-License-Identifier: Apache-2.0
"""Writes Grok-1 style checkpoint pickles with CPython's own pickler.

NumPy is not needed (nor installed here): stand-ins registered under NumPy's
module names reduce exactly as numpy.ndarray and numpy.dtype do, so the
pickler emits the opcodes and globals a real Grok-1 checkpoint holds
(numpy.core.multiarray._reconstruct + BUILD for protocols 2-4,
numpy.core.numeric._frombuffer with an in-band buffer for protocol 5,
ml_dtypes.bfloat16 for bf16, __main__.QuantizedWeight8bit records).

  grok_pickles.py write ORDER RANDOM.safetensors OUTDIR [--protocol P]
                  [--fortran PATH]
      one pickle per line of ORDER (nova-ckpt grok1-order output), with the
      values of RANDOM.safetensors
  grok_pickles.py evil OUTFILE system|eval|nested
      a malicious pickle whose __reduce__ calls os.system / builtins.eval
  grok_pickles.py compare A B
      byte-compares every tensor (and the scale layouts) of two checkpoints
      (a .safetensors file or a directory with model.safetensors.index.json)
  grok_pickles.py compare-shards REF SHARDS
      checks that every tensor of SHARDS (nova-ckpt load --save) equals the
      box of REF its "<name>.box" metadata names
"""

import dataclasses
import json
import os
import pickle
import struct
import sys
import types


def _module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


np = _module("numpy")
np_core = _module("numpy.core")
np_multiarray = _module("numpy.core.multiarray")
np_numeric = _module("numpy.core.numeric")
ml_dtypes = _module("ml_dtypes")


def _reconstruct(*args):
    raise RuntimeError("stand-in")


def _frombuffer(*args):
    raise RuntimeError("stand-in")


_reconstruct.__module__ = "numpy.core.multiarray"
np_multiarray._reconstruct = _reconstruct
_frombuffer.__module__ = "numpy.core.numeric"
np_numeric._frombuffer = _frombuffer


class ndarray:
    pass


ndarray.__module__ = "numpy"
np.ndarray = ndarray


class bfloat16:
    pass


bfloat16.__module__ = "ml_dtypes"
ml_dtypes.bfloat16 = bfloat16


class dtype:
    """Reduces as numpy.dtype does: dtype(descr, False, True) + state."""

    def __init__(self, descr, byteorder, elsize):
        self.descr, self.byteorder, self.elsize = descr, byteorder, elsize

    def __reduce__(self):
        user = self.descr is bfloat16
        state = (3, self.byteorder, None, None, None,
                 self.elsize if user else -1, self.elsize if user else -1,
                 0)
        return (dtype, (self.descr, False, True), state)


dtype.__module__ = "numpy"
np.dtype = dtype

DTYPES = {  # safetensors dtype -> (numpy dtype, element size)
    "F32": (dtype("f4", "<", 4), 4),
    "BF16": (dtype(bfloat16, "<", 2), 2),
    "I8": (dtype("i1", "|", 1), 1),
    "I32": (dtype("i4", "<", 4), 4),
}


class Array:
    """Reduces as numpy.ndarray.__reduce_ex__ does."""

    def __init__(self, dt, shape, data, fortran=False):
        self.dt, self.shape, self.data, self.fortran = dt, shape, data, fortran

    def __reduce_ex__(self, protocol):
        if protocol >= 5:
            order = "F" if self.fortran else "C"
            return (_frombuffer, (pickle.PickleBuffer(bytearray(self.data)),
                                  self.dt, self.shape, order))
        return (_reconstruct, (ndarray, (0,), b"b"),
                (1, self.shape, self.dt, self.fortran, self.data))


@dataclasses.dataclass
class QuantizedWeight8bit:
    weight: object
    scales: object


def read_safetensors(path):
    """{name: (dtype, shape, bytes)} and the metadata of a checkpoint."""
    if os.path.isdir(path):
        index = json.load(open(os.path.join(path,
                                            "model.safetensors.index.json")))
        tensors, meta = {}, {}
        for f in sorted(set(index["weight_map"].values())):
            t, m = read_safetensors(os.path.join(path, f))
            tensors.update(t)
            meta.update(m)
        return tensors, meta
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        tensors[name] = (e["dtype"], tuple(e["shape"]), data[b:end])
    return tensors, meta


def to_fortran(data, shape, size):
    """Row-major bytes of a 2-D array -> column-major bytes."""
    rows, cols = shape
    out = bytearray(len(data))
    for r in range(rows):
        for c in range(cols):
            src = (r * cols + c) * size
            dst = (c * rows + r) * size
            out[dst:dst + size] = data[src:src + size]
    return bytes(out)


def array_of(entry, fortran=False):
    dt, shape, data = entry
    npdt, size = DTYPES[dt]
    if fortran:
        data = to_fortran(data, shape, size)
    return Array(npdt, shape, data, fortran)


def write(order, random, outdir, protocol, fortran):
    tensors, _ = read_safetensors(random)
    os.makedirs(os.path.join(outdir, "ckpt-0"), exist_ok=True)
    for line in open(order):
        parts = line.split()
        if not parts:
            continue
        fname, path = parts[0], parts[1]
        if len(parts) > 2:
            obj = QuantizedWeight8bit(array_of(tensors[path]),
                                      array_of(tensors[path + ".scales"]))
        else:
            obj = array_of(tensors[path], fortran=path in fortran)
        with open(os.path.join(outdir, "ckpt-0", fname), "wb") as f:
            pickle.dump(obj, f, protocol=protocol)


class EvilSystem:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


class EvilEval:
    def __reduce__(self):
        import builtins
        return (builtins.eval, ("open('PWNED', 'w')",))


def evil(outfile, kind):
    if kind == "system":
        obj = EvilSystem()
    elif kind == "eval":
        obj = EvilEval()
    else:
        obj = QuantizedWeight8bit(EvilSystem(), EvilSystem())
    with open(outfile, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def compare(a, b):
    ta, ma = read_safetensors(a)
    tb, mb = read_safetensors(b)
    if sorted(ta) != sorted(tb):
        print("tensor names differ:", sorted(set(ta) ^ set(tb)))
        return 1
    for name in sorted(ta):
        if ta[name] != tb[name]:
            print("tensor %s differs" % name)
            return 1
    layouts = lambda m: {k: v for k, v in m.items() if k.endswith(".layout")}
    if layouts(ma) != layouts(mb):
        print("scale layouts differ")
        return 1
    print("%d tensors identical" % len(ta))
    return 0


SIZES = {"F32": 4, "BF16": 2, "I8": 1, "I32": 4}


def slice_bytes(entry, box):
    """The row-major bytes of box [(begin, end), ...] of a tensor."""
    dt, shape, data = entry
    size = SIZES[dt]
    out = bytearray()
    dims = [e - b for b, e in box]
    count = 1
    for d in dims:
        count *= d
    for i in range(count):
        rem, src, stride = i, 0, 1
        for d in reversed(range(len(shape))):
            idx = rem % dims[d] + box[d][0]
            rem //= dims[d]
            src += idx * stride
            stride *= shape[d]
        out += data[src * size:(src + 1) * size]
    return bytes(out)


def compare_shards(ref, shards):
    tr, _ = read_safetensors(ref)
    ts, meta = read_safetensors(shards)
    for name, entry in sorted(ts.items()):
        box = meta.get(name + ".box")
        if box is None:
            want = tr[name][2]
        else:
            box = [tuple(int(x) for x in r.split(":")) for r in box.split(",")]
            want = slice_bytes(tr[name], box)
        if entry[2] != want:
            print("shard %s differs" % name)
            return 1
    print("%d shards match" % len(ts))
    return 0


def main(argv):
    if argv[1] == "write":
        protocol, fortran = 4, []
        rest = argv[5:]
        while rest:
            if rest[0] == "--protocol":
                protocol = int(rest[1])
            elif rest[0] == "--fortran":
                fortran.append(rest[1])
            rest = rest[2:]
        write(argv[2], argv[3], argv[4], protocol, fortran)
        return 0
    if argv[1] == "evil":
        evil(argv[2], argv[3])
        return 0
    if argv[1] == "compare":
        return compare(argv[2], argv[3])
    if argv[1] == "compare-shards":
        return compare_shards(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
