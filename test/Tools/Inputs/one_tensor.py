# Writes a one-tensor safetensors file (w: F32[2]) at argv[1].
import json, os, struct, sys

path = sys.argv[1]
os.makedirs(os.path.dirname(path), exist_ok=True)
header = json.dumps({"w": {"dtype": "F32", "shape": [2],
                           "data_offsets": [0, 8]}}).encode()
header += b" " * ((8 - len(header) % 8) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1, 2))
