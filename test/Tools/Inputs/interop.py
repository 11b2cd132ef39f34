# SPDX-License-Identifier: Apache-2.0
"""Nova's shared formats against the libraries that define them.

    interop.py write-safetensors OUT            every dtype, official writer
    interop.py write-index DIR                  a two-file HF-style index
    interop.py same-safetensors A B             A and B hold equal tensors
    interop.py write-npy DIR                    .npy inputs, one per dtype
    interop.py same-npy DIR_A DIR_B NAMES...    equal .npy files (NumPy reads both)
    interop.py grok-pickles ORDER REF OUT PROTO Grok-1 pickles by real NumPy

Compares bit patterns (NaNs included) and dtypes, not values within a
tolerance: these are exact formats.
"""

import dataclasses
import json
import os
import pickle
import sys

import ml_dtypes
import numpy as np
import safetensors.numpy as sn


def reference():
    """One tensor per dtype Nova supports, with awkward values."""
    bf16 = np.array([0.0, -0.0, 1.5, -3.25, 1e-40, np.inf, -np.inf, np.nan],
                    dtype=np.float32).astype(ml_dtypes.bfloat16).reshape(2, 4)
    return {
        "f32": np.array([[1.0, -2.5, 3.4028235e38], [1e-45, -0.0, np.nan]],
                        dtype=np.float32),
        "bf16": bf16,
        "f16": np.array([65504.0, -6e-8, 0.333, np.inf], dtype=np.float16),
        "i8": np.array([-128, -1, 0, 127], dtype=np.int8).reshape(2, 2),
        "i32": np.array([-2**31, 2**31 - 1, 7], dtype=np.int32),
        "i64": np.array([-2**63, 2**63 - 1], dtype=np.int64),
        "bool": np.array([True, False, True], dtype=np.bool_),
        "scalar": np.array(42, dtype=np.int64),
    }


def bits(a):
    return a.dtype, a.shape, a.tobytes()


def same(a, b, what):
    if sorted(a) != sorted(b):
        sys.exit("%s: tensors %s vs %s" % (what, sorted(a), sorted(b)))
    for k in a:
        if bits(a[k]) != bits(b[k]):
            sys.exit("%s: tensor %s differs: %r vs %r" % (what, k, a[k], b[k]))
    print("%s: %d tensors identical" % (what, len(a)))


def load_checkpoint(path):
    """A .safetensors file or an index (or its directory), read with the
    official library only."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors.index.json")
    if path.endswith(".json"):
        index = json.load(open(path))
        out = {}
        for f in sorted(set(index["weight_map"].values())):
            out.update(sn.load_file(os.path.join(os.path.dirname(path), f)))
        if set(out) != set(index["weight_map"]):
            sys.exit("%s: the index does not list the files' tensors" % path)
        return out
    return sn.load_file(path)


def main(argv):
    cmd = argv[1]
    if cmd == "write-safetensors":
        sn.save_file(reference(), argv[2], metadata={"format": "pt", "k": "v"})
    elif cmd == "write-index":
        tensors = reference()
        os.makedirs(argv[2], exist_ok=True)
        names = sorted(tensors)
        parts = [names[:4], names[4:]]
        weight_map = {}
        for i, part in enumerate(parts):
            f = "model-%05d-of-%05d.safetensors" % (i + 1, len(parts))
            sn.save_file({k: tensors[k] for k in part}, os.path.join(argv[2], f))
            weight_map.update({k: f for k in part})
        total = sum(t.nbytes for t in tensors.values())
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
                  open(os.path.join(argv[2], "model.safetensors.index.json"), "w"))
    elif cmd == "same-safetensors":
        same(load_checkpoint(argv[2]), load_checkpoint(argv[3]), argv[3])
    elif cmd == "write-npy":
        os.makedirs(argv[2], exist_ok=True)
        for k, v in reference().items():
            if k != "bf16":  # .npy has no bf16: Nova takes f32 for it
                np.save(os.path.join(argv[2], k + ".npy"), v)
    elif cmd == "same-npy":
        for k in argv[4:]:
            a = np.load(os.path.join(argv[2], k + ".npy"))
            b = np.load(os.path.join(argv[3], k + ".npy"))
            if bits(a) != bits(b):
                sys.exit("%s.npy differs: %r vs %r" % (k, a, b))
        print("%d .npy files identical" % len(argv[4:]))
    elif cmd == "grok-pickles":
        grok_pickles(argv[2], argv[3], argv[4], int(argv[5]),
                     argv[6] if len(argv) > 6 else None)
    else:
        sys.exit("unknown command " + cmd)


@dataclasses.dataclass
class QuantizedWeight8bit:
    """Grok-1's record, pickled as `__main__.QuantizedWeight8bit`."""
    weight: np.ndarray
    scales: np.ndarray


QuantizedWeight8bit.__module__ = "__main__"


def grok_pickles(order, ref, out, protocol, expected=None):
    """With `expected`, scales are pickled as f32 slightly off their bf16
    values, and `expected` gets what ml_dtypes rounds them to (RNE): Nova
    must round f32 into a declared bf16 exactly the same way."""
    tensors = sn.load_file(ref)
    if expected:
        rng = np.random.default_rng(7)
        for k in list(tensors):
            if k.endswith(".scales"):
                f32 = tensors[k].astype(np.float32)
                f32 = f32 * (1 + rng.uniform(-4e-3, 4e-3, f32.shape)).astype(np.float32)
                tensors[k] = f32
        sn.save_file({k: (v.astype(ml_dtypes.bfloat16) if k.endswith(".scales") else v)
                      for k, v in tensors.items()}, expected)
    os.makedirs(os.path.join(out, "ckpt-0"), exist_ok=True)
    for line in open(order):
        name, path = line.split()[:2]
        if "QuantizedWeight8bit" in line:
            value = QuantizedWeight8bit(tensors[path], tensors[path + ".scales"])
        else:
            value = tensors[path]
        with open(os.path.join(out, "ckpt-0", name), "wb") as f:
            pickle.dump(value, f, protocol=protocol)


if __name__ == "__main__":
    main(sys.argv)
