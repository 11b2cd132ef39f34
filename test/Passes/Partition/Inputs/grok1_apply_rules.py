#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent oracle for Grok-1's partition specs.

Re-implements Grok-1's `_match` / `apply_rules` (grok1-semantics.md §2) with
Python's `re` exactly as Grok-1 uses it (`re.compile(r + "$").match`), on
Grok-1's parameter tree (§1.2, §5.1) and rule tables (§2.4, LM rules then
transformer rules). Prints "path<TAB>spec" per parameter, sorted by path,
with the spec in the repr Nova's --explain-sharding uses. Nothing here is
shared with Nova's C++ implementation.
"""
import re

D = r"decoder_layer_[0-9]+"
NONE = (None,)

LM_RULES = [
    (("language_model", "positional_embeddings"), (None, ("data", "model"))),
    (("language_model", "in_out_embed", "embeddings"), (None, ("data", "model"))),
    (("language_model", "rms_norm"), NONE),
]
TRANSFORMER_RULES = [
    (("multi_head_attention", "(query|key|value)", "w"), ("data", "model")),
    (("multi_head_attention", "(query|key|value)", "b"), NONE),
    (("multi_head_attention", "linear", "w"), ("model", "data")),
    (("multi_head_attention", "linear", "b"), NONE),
    ((D, "linear", "w"), ("data", "model")),
    ((D, "linear", "b"), NONE),
    ((D, "linear_v", "w"), ("data", "model")),
    ((D, "linear_v", "b"), NONE),
    ((D, "linear_1", "w"), ("model", "data")),
    ((D, "linear_1", "b"), NONE),
    ((D, "layer_norm", "offset"), NONE),
    ((D, "layer_norm", "scale"), NONE),
    ((D, "layer_norm_1", "offset"), NONE),
    ((D, "layer_norm_1", "scale"), NONE),
    ((D, "rms_norm", "scale"), NONE),
    ((D, "rms_norm_1", "scale"), NONE),
    ((D, "rms_norm_2", "scale"), NONE),
    ((D, "rms_norm_3", "scale"), NONE),
    (("router", "w"), ("data",)),
    (("moe", "linear", "w"), (None, "data", "model")),
    (("moe", "linear", "b"), NONE),
    (("moe", "linear_v", "w"), (None, "data", "model")),
    (("moe", "linear_v", "b"), NONE),
    (("moe", "linear_1", "w"), (None, "model", "data")),
    (("moe", "linear_1", "b"), NONE),
    (("moe", "layer_norm", "offset"), NONE),
    (("moe", "layer_norm", "scale"), NONE),
    (("moe", "layer_norm_1", "offset"), NONE),
    (("moe", "layer_norm_1", "scale"), NONE),
    (("moe", "rms_norm", "scale"), NONE),
    (("moe", "rms_norm_1", "scale"), NONE),
    (("moe", "rms_norm_2", "scale"), NONE),
    (("moe", "rms_norm_3", "scale"), NONE),
]
RULES = LM_RULES + TRANSFORMER_RULES


def match(qs, ks):
    """Grok-1's _match: some window of ks matches the regexes qs."""
    qts = [re.compile(q + "$") for q in qs]
    for i in range(len(ks) - len(qs) + 1):
        matches = [q.match(k) for q, k in zip(qts, ks[i:])]
        if matches and all(matches):
            return True
    return False


def apply_rules(path):
    """Grok-1's apply_rules for one {module_path: {name: value}} leaf."""
    tokens = path.split("/")
    for qs, spec in RULES:
        if match(qs, tokens):
            if "layer_stack" in tokens:
                spec = (None,) + tuple(spec)
            return spec
    return None


def repr_spec(spec):
    return "P(" + ", ".join(repr(d) for d in spec) + ")"


def grok1_params():
    """The parameter paths of Grok-1's checkpoint (770 of them)."""
    paths = ["language_model/in_out_embed/embeddings",
             "language_model/rms_norm/scale"]
    per_layer = [
        "moe/linear/w", "moe/linear_1/w", "moe/linear_v/w",
        "multi_head_attention/key/w", "multi_head_attention/linear/w",
        "multi_head_attention/query/w", "multi_head_attention/value/w",
        "rms_norm/scale", "rms_norm_1/scale", "rms_norm_2/scale",
        "rms_norm_3/scale", "router/w",
    ]
    for layer in range(64):
        for p in per_layer:
            paths.append("transformer/decoder_layer_%d/%s" % (layer, p))
    return paths


def main():
    for path in sorted(grok1_params()):
        spec = apply_rules(path)
        assert spec is not None, path
        print("%s\t%s" % (path, repr_spec(spec)))


if __name__ == "__main__":
    main()
