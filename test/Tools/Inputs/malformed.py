# SPDX-License-Identifier: Apache-2.0
"""Runs a CLI over a corpus of malformed inputs and checks Nova's promise.

  malformed.py CASES WORKDIR [--asan]

CASES holds cases separated by "=== NAME" lines. Each case has
  cmd: the command line ({in} = the case's input directory, {out} = an
       empty output directory, {src} = the Nova source tree)
  expect: a Python regex the error output must contain (re.search)
  timeout: seconds (default 60)
followed by its input files: "--- FILE" and the file's text up to the next
"---" or "===" line, or "--- FILE @" and one line holding a Python
expression that yields the file's bytes or text (for inputs too large or
too binary to spell out; `npy(header, data)`, `safetensors(header, data)`,
`grok_array(values)`, `struct` and `json` are at hand). A "--- FILE -> TARGET" line makes a symlink.

For every case the command must exit with a status in 1..125 (no signal,
no timeout), print a message matching `expect` that holds a location
(file:line:col, "line N", "byte N", "offset N", or for an error about a
whole file, its path), leave {out} empty and
add nothing to {in}, stay under the memory cap (an address-space rlimit of
4 GiB; with --asan, which reserves terabytes of shadow memory, a cap of
3 GiB on the child's peak RSS instead) and finish within its timeout.
Prints one line per case and "N passed, N failed"; exits 1 on a failure.
"""

import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time

LOCATION = re.compile(r":\d+:\d+:|\bline \d+|\bbyte \d+|\boffset \d+")
AS_LIMIT = 4 << 30
RSS_LIMIT_KB = 3 << 20


def npy(header, data=b"", version=1):
    """An .npy file: magic, version, the header text padded as NumPy pads
    it, then `data`."""
    import struct
    size = 10 if version == 1 else 12
    header += " " * ((64 - (size + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + data


def safetensors(header, data=b""):
    """A safetensors file: the header (a dict, or raw text) and `data`."""
    import json
    import struct
    text = header if isinstance(header, (str, bytes)) else json.dumps(header)
    if isinstance(text, str):
        text = text.encode()
    return struct.pack("<Q", len(text)) + text + data


def grok_array(values, protocol=2):
    """A Grok-1 checkpoint pickle of a 1-D f32 array, written by CPython's
    pickler with grok_pickles.py's NumPy stand-ins."""
    import pickle
    import struct
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import grok_pickles
    data = struct.pack("<%df" % len(values), *values)
    array = grok_pickles.Array(grok_pickles.DTYPES["F32"][0], (len(values),),
                               data)
    return pickle.dumps(array, protocol=protocol)


GENERATORS = {"struct": __import__("struct"), "json": __import__("json"),
              "npy": npy, "safetensors": safetensors, "grok_array": grok_array}


def parse_cases(text):
    cases, case, current = [], None, None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("=== "):
            case = {"name": line[4:].strip(), "files": [], "timeout": 60}
            cases.append(case)
            current = None
        elif line.startswith("--- ") and case is not None:
            spec = line[4:].strip()
            if " -> " in spec:
                name, target = spec.split(" -> ", 1)
                case["files"].append((name.strip(), ("link", target.strip())))
                current = None
            elif spec.endswith(" @"):
                i += 1
                case["files"].append((spec[:-2].strip(), ("expr", lines[i])))
                current = None
            else:
                current = []
                case["files"].append((spec, ("text", current)))
        elif current is not None:
            current.append(line)
        elif case is not None and ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            if key in ("cmd", "expect", "timeout"):
                case[key] = value.strip() if key != "timeout" else int(value)
        i += 1
    return cases


def materialize(case, indir):
    for name, (kind, value) in case["files"]:
        path = os.path.join(indir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if kind == "link":
            os.symlink(value, path)
            continue
        if kind == "text":
            data = "\n".join(value).rstrip("\n") + "\n"
        else:
            data = eval(value, dict(GENERATORS))
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(path, "wb") as f:
            f.write(data)


def listing(root):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def run_case(case, work, src, asan):
    base = os.path.join(work, re.sub(r"[^A-Za-z0-9_.-]", "_", case["name"]))
    shutil.rmtree(base, ignore_errors=True)
    indir, outdir = os.path.join(base, "in"), os.path.join(base, "out")
    os.makedirs(indir)
    os.makedirs(outdir)
    materialize(case, indir)
    before = listing(indir)
    cmd = case["cmd"].format(**{"in": indir, "out": outdir, "src": src})

    def limit():
        os.setsid()
        if not asan:
            resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    start = time.time()
    proc = subprocess.Popen(shlex.split(cmd), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=indir,
                            preexec_fn=limit)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=case["timeout"])
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    elapsed = time.time() - start
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    text = output.decode("utf-8", "replace")
    problems = []
    if timed_out:
        problems.append("timed out after %d s" % case["timeout"])
    elif proc.returncode < 0:
        problems.append("killed by signal %d" % -proc.returncode)
    elif proc.returncode == 0:
        problems.append("exit status 0")
    elif proc.returncode > 125:
        problems.append("exit status %d" % proc.returncode)
    if asan and rss_kb > RSS_LIMIT_KB:
        problems.append("peak RSS %d MiB" % (rss_kb >> 10))
    if "expect" in case and not re.search(case["expect"], text, re.M):
        problems.append("no message matching %r" % case["expect"])
    if not LOCATION.search(text) and indir not in text:
        problems.append("the message names no location (no line:column, "
                        "byte offset or input path)")
    left = listing(outdir)
    if left:
        problems.append("left output behind: %s" % ", ".join(sorted(left)))
    added = listing(indir) - before
    if added:
        problems.append("wrote next to its inputs: %s" % ", ".join(sorted(added)))
    if problems:
        tail = "\n    ".join(text.strip().splitlines()[-6:])
        return False, "%s (%.1f s)\n    %s" % ("; ".join(problems), elapsed, tail)
    shutil.rmtree(base, ignore_errors=True)
    return True, "%.1f s" % elapsed


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asan = "--asan" in sys.argv
    src = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    with open(args[0], encoding="utf-8", errors="surrogateescape") as f:
        cases = parse_cases(f.read())
    work = args[1]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for case in cases:
        # RUSAGE_CHILDREN keeps the peak over all children so far; each case
        # runs in a fresh Python child so its peak is its own.
        ok, note = run_isolated(case, work, src, asan)
        print("%s %s: %s" % ("PASS" if ok else "FAIL", case["name"], note))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run_isolated(case, work, src, asan):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            ok, note = run_case(case, work, src, asan)
        except Exception as e:  # a broken case fails, it does not stop the run
            ok, note = False, "cannot run the case: %s" % e
        os.write(write, (("1" if ok else "0") + note).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    message = b"".join(chunks).decode()
    return message[:1] == "1", message[1:]


if __name__ == "__main__":
    sys.exit(main())
