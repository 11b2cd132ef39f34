# SPDX-License-Identifier: Apache-2.0
"""Loads a Nova device binary (cubin or PTX) with the CUDA driver API and
looks up every kernel it defines; prints the count. Needs only libcuda."""
import ctypes
import re
import sys


def main(path):
    data = open(path, "rb").read()
    if path.endswith(".ptx"):
        names = re.findall(rb"\.visible \.entry (\w+)\(", data)
        data += b"\0"
    else:
        # Kernel names in a cubin: the .nv.info.<name> sections.
        names = sorted(set(re.findall(rb"\.nv\.info\.(nova_\w+?)\0", data)))
    cuda = ctypes.CDLL("libcuda.so.1")

    def ok(result, what):
        if result != 0:
            text = ctypes.c_char_p()
            cuda.cuGetErrorString(result, ctypes.byref(text))
            sys.exit(f"{what} failed: {text.value!r} ({result})")

    ok(cuda.cuInit(0), "cuInit")
    device = ctypes.c_int()
    ok(cuda.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
    context = ctypes.c_void_p()
    ok(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(context), device),
       "cuDevicePrimaryCtxRetain")
    ok(cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    module = ctypes.c_void_p()
    ok(cuda.cuModuleLoadData(ctypes.byref(module), data), "cuModuleLoadData")
    if not names:
        sys.exit(f"{path}: no kernels found")
    for name in names:
        function = ctypes.c_void_p()
        ok(cuda.cuModuleGetFunction(ctypes.byref(function), module, name),
           f"cuModuleGetFunction({name.decode()})")
    print(f"{path}: {len(names)} kernels loaded")


if __name__ == "__main__":
    main(sys.argv[1])
