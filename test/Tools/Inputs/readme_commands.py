# SPDX-License-Identifier: Apache-2.0
"""Runs the commands of README.md's "Using it" block, as written.

The block is read from the README itself, so the test follows it: lines
continued with a backslash are joined, comments dropped, and each command runs
in the current directory through the shell, in order. A command that fails
stops the run with its output and exit status. Options narrow or adapt the
run where a command needs what a test cannot have (a real Grok-1 download):
  --skip REGEX REASON   do not run matching commands; print the reason
  --only REGEX          run only matching commands
  --extra REGEX ARGS    append ARGS to matching commands
  --replace OLD NEW     replace OLD by NEW in every command
Prints "run: CMD", the command's output, then "README commands: N run, M
skipped".
"""

import re
import subprocess
import sys


def commands(readme):
    text = open(readme, encoding="utf-8").read()
    section = re.search(r"^## Using it\n(.*?)^## ", text, re.S | re.M)
    if not section:
        sys.exit("readme_commands: no '## Using it' section in " + readme)
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.S | re.M)
    if not block:
        sys.exit("readme_commands: no sh block under '## Using it'")
    joined = block.group(1).replace("\\\n", " ")
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield re.sub(r"\s+", " ", line)


def main(argv):
    readme, args = argv[1], argv[2:]
    skips, only, extras, replaces = [], None, [], []
    while args:
        flag = args.pop(0)
        if flag == "--skip":
            skips.append((args.pop(0), args.pop(0)))
        elif flag == "--only":
            only = args.pop(0)
        elif flag == "--extra":
            extras.append((args.pop(0), args.pop(0)))
        elif flag == "--replace":
            replaces.append((args.pop(0), args.pop(0)))
        else:
            sys.exit("readme_commands: unknown option " + flag)
    ran = skipped = 0
    for command in commands(readme):
        reason = next((r for pattern, r in skips if re.search(pattern, command)),
                      None)
        if reason:
            print("skipped (%s): %s" % (reason, command))
            skipped += 1
            continue
        if only and not re.search(only, command):
            continue
        for old, new in replaces:
            command = command.replace(old, new)
        for pattern, extra in extras:
            if re.search(pattern, command):
                command += " " + extra
        print("run: " + command, flush=True)
        done = subprocess.run(command, shell=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            print("readme_commands: '%s' exited with %d" %
                  (command, done.returncode))
            return 1
        ran += 1
    print("README commands: %d run, %d skipped" % (ran, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
