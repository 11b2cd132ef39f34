# SPDX-License-Identifier: Apache-2.0
#
# Prints, one per line and sorted, the op names of docs/spec.md's graph-op
# table (argv[1]) and then those the importer's unknown-op error lists (read
# from stdin), each list under its own header, so that FileCheck can require
# the two to be the same.
import re
import sys

doc = open(sys.argv[1], encoding="utf-8").read()
table = doc.split("| op | operands", 1)[1].split("\n\n", 1)[0]
documented = set()
for row in table.splitlines()[2:]:
    documented.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))

error = sys.stdin.read()
# The first line after the message's "expected one of: " (the source line and
# its caret follow it).
names = error.split("expected one of: ", 1)[1].splitlines()[0]
listed = {name.strip() for name in names.split(",")}

print("documented:", " ".join(sorted(documented)))
print("imported:", " ".join(sorted(listed)))
print("same" if documented == listed else "differ")
