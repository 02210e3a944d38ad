"""A catalogue of bad specs, each refused by the real command line with one positioned message.

Every case is (spec text, expected message fragment, line, column, exit code). It is run in-process through the
typer app with `typer.testing.CliRunner`; with click >= 8.2 (here 8.4) the runner always keeps the two streams
apart: `result.stdout` is standard output only, `result.stderr` standard error only (`result.output` would be
both, interleaved), so "stdout is empty" is checked on its own. A few cases also run as a real process
(`python -m cnncalc`).

The contract for each: exit code 2, nothing on stdout, on stderr exactly one message
`FILE:LINE:COL: error: ...`, optionally followed by the source line and a caret under the column, and never a
Python traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    fragment: str
    line: int
    column: int
    code: int = 2


H = "input: [3, 32, 32]\nlayers:\n"
"""Header of most cases: the layers start on line 3."""


def layer(entry: str) -> str:
    """A spec whose only layer (line 3) is `entry`."""
    return f"{H}  - {entry}\n"


BLOCK = ("input: [3, 32, 32]\nblocks:\n  b:\n    params: [out]\n    layers:\n"
         "      - {type: conv, out: $out, kernel: 1}\n")
"""A spec with block `b` (one parameter `out`); its `layers:` key follows on line 7."""

CASES = [
    # ------------------------------------------------------------------------------------------------ YAML syntax
    Case("unclosed-flow-sequence", "input: [3, 32, 32]\nlayers: [relu,\n",
         "did not find expected node content", 3, 1),
    Case("unclosed-flow-mapping", f"{H}  - {{type: relu\n", "while parsing a flow mapping that starts at line 3", 4, 1),
    Case("unclosed-flow-sequence-context", "input: [3, 32, 32\nlayers: [relu]\n",
         "while parsing a flow sequence that starts at line 1, column 8", 2, 7),
    Case("bad-indentation", f"{H}  - relu\n bad: 1\n", "did not find expected key", 4, 2),
    Case("mapping-value-in-scalar", "input: [3, 32, 32]\nlayers: relu: x\n", "mapping values are not allowed", 2, 13),
    Case("unterminated-quote", layer('{type: relu, name: "abc}'), "found unexpected end of stream", 4, 1),
    Case("unknown-escape", layer('{type: relu, name: "a\\q"}'), "found unknown escape character", 3, 26),
    Case("reserved-character", layer("{type: relu, name: @x}"), "cannot start any token", 3, 24),
    Case("unknown-alias", layer("*missing"), "unknown alias *missing", 3, 5),
    Case("tab-indentation", "input: [3, 32, 32]\nlayers:\n\t- relu\n", "must use spaces, not tabs", 3, 1),
    Case("tab-in-block-mapping", f"{H}  - conv:\n\t\tout: 4\n", "must use spaces, not tabs", 4, 1),
    Case("control-character", "input: [3, 32, 32]\nlayers: [re\x07lu]\n", "character U+0007 is not allowed", 2, 12),
    Case("escape-sequence-shown-safely", "input: [3, 32, 32]\nlayers: [\x1b[31mrelu]\n", "U+001B", 2, 10),
    # ------------------------------------------------------------------------------------ not a spec document
    Case("empty-file", "", "spec is empty", 1, 1),
    Case("only-comments", "# nothing here\n\n", "spec is empty", 1, 1),
    Case("document-marker-only", "---\n...\n", "spec is empty", 2, 1),
    Case("null-document", "~\n", "spec is empty", 1, 1),
    Case("document-is-a-list", "- relu\n- relu\n", "this document is a list", 1, 1),
    Case("document-is-a-number", "42\n", "this document is a single value", 1, 1),
    Case("document-is-a-string", "just some text\n", "this document is a single value", 1, 1),
    Case("several-documents", "input: [3, 32, 32]\nlayers: [relu]\n---\ninput: [3, 8, 8]\nlayers: [relu]\n",
         "several YAML documents", 3, 1),
    # ---------------------------------------------------------------------------- duplicate keys, tags, merges
    Case("duplicate-top-level-key", "input: [3, 32, 32]\nlayers: [relu]\ninput: [3, 8, 8]\n",
         "duplicate key 'input' (first at line 1)", 3, 1),
    Case("duplicate-key-flow", layer("{type: conv, out: 8, kernel: 3, kernel: 5}"),
         "duplicate key 'kernel' (first at line 3)", 3, 37),
    Case("duplicate-key-block", f"{H}  - conv:\n      out: 8\n      kernel: 3\n      out: 16\n",
         "duplicate key 'out' (first at line 4)", 6, 7),
    Case("duplicate-block-name", "input: [3, 32, 32]\nblocks:\n  b: {layers: [relu]}\n  b: {layers: [tanh]}\n"
         "layers: [b]\n", "duplicate key 'b' (first at line 3)", 4, 3),
    Case("merge-key", layer("{<<: {type: relu}}"), "merge keys", 3, 6),
    Case("complex-key", layer("{[a]: relu}"), "a mapping key must be a plain name", 3, 6),
    Case("python-object-tag", layer("!!python/object/apply:os.system [echo hi]"), "is not allowed in a spec", 3, 5),
    Case("python-name-tag", "input: !!python/name:os.system\nlayers: [relu]\n", "is not allowed in a spec", 1, 8),
    Case("local-tag", layer("!conv {out: 8, kernel: 3}"), "YAML tag '!conv' is not allowed", 3, 5),
    # A tag is accepted only where it restates how the value is read; one that would change the value is refused.
    Case("empty-tag-on-int", layer("{type: conv, out: ! 4, kernel: 3}"), "`out` must be an integer, got the string "
         "'4'; hint: remove the tag `!`", 3, 23),
    Case("str-tag-on-int", layer("{type: conv, out: !!str 4, kernel: 3}"), "got the string '4'; hint: remove the "
         "tag `!!str`", 3, 23),
    Case("float-tag-on-int", layer("{type: conv, out: !!float 4, kernel: 3}"), "YAML tag '!!float' contradicts "
         "the value '4', which a spec reads as an integer; hint: remove the tag", 3, 23),
    Case("null-tag-on-type", layer("{type: !!null relu}"), "YAML tag '!!null' contradicts the value 'relu', which a "
         "spec reads as a string", 3, 12),
    Case("int-tag-on-quoted", layer('{type: conv, out: !!int "4", kernel: 3}'), "YAML tag '!!int' contradicts the "
         "value '4', which a spec reads as a string (it is quoted)", 3, 23),
    Case("int-tag-on-octal", layer("{type: conv, out: !!int 010, kernel: 3}"), "a number with a leading zero", 3, 23),
    Case("bool-tag-on-word", layer("{type: conv, out: 4, kernel: 3, bias: !!bool yes}"), "YAML tag '!!bool' "
         "contradicts the value 'yes', which a spec reads as a string", 3, 43),
    Case("map-tag-on-scalar", layer("{type: conv, out: !!map 4, kernel: 3}"), "YAML tag '!!map' does not fit a "
         "single value", 3, 23),
    Case("seq-tag-on-mapping", layer("!!seq {type: relu}"), "YAML tag '!!seq' does not fit a mapping", 3, 5),
    Case("binary-tag", layer("{type: relu, name: !!binary YWJj}"), "YAML tag '!!binary' is not allowed", 3, 24),
    Case("custom-tag-on-int", layer("{type: conv, out: !foo 4, kernel: 3}"), "YAML tag '!foo' is not allowed", 3,
         23),
    # ------------------------------------------------------------------------------------- YAML 1.1 surprises
    Case("exponent-for-int", layer("{type: conv, out: 1e3, kernel: 3}"), "`out` must be an integer, got 1e3; "
         "hint: write 1000", 3, 23),
    Case("octal-looking-int", layer("{type: conv, out: 8, kernel: 010}"), "leading zero (YAML 1.1 would read it "
         "as octal); hint: write 10", 3, 34),
    Case("on-as-boolean", layer("{type: conv, out: 8, kernel: 3, bias: on}"), "YAML 1.1 read this as a boolean",
         3, 43),
    Case("yes-as-boolean", layer("{type: maxpool, kernel: 2, ceil_mode: yes}"), "`ceil_mode` must be true or "
         "false, got 'yes'", 3, 43),
    Case("off-as-boolean", layer("{type: linear, out: 10, bias: off}"), "YAML 1.1 read this as a boolean", 3, 35),
    Case("exponent-in-input", "input: [3, 1e3, 32]\nlayers: [relu]\n", "`input` must be an integer, got 1e3", 1, 12),
    Case("exponent-repeat", layer("{type: relu, repeat: 1e2}"), "`repeat` must be an integer, got 1e2", 3, 26),
    Case("float-that-is-whole", layer("{type: conv, out: 8, kernel: 3.0}"), "got 3.0; hint: write 3", 3, 34),
    Case("hexadecimal", layer("{type: conv, out: 0x10, kernel: 3}"), "`out` must be an integer, got '0x10'", 3, 23),
    Case("underscore-digits", layer("{type: conv, out: 1_000, kernel: 3}"), "got '1_000'", 3, 23),
    Case("yes-as-type", layer("{type: yes}"), "unknown layer type 'yes'", 3, 12),
    Case("boolean-as-name", layer("{type: relu, name: true}") + "  - {type: relu, input: tru}\n",
         "unknown layer 'tru'; hint: did you mean 'true'?", 4, 25),
    # --------------------------------------------------------------------------------------------- wrong types
    Case("quoted-int", layer('{type: conv, out: 8, kernel: "3"}'), "got the string '3'; hint: remove the quotes",
         3, 34),
    Case("fractional-int", layer("{type: conv, out: 8, kernel: 3.5}"), "`kernel` must be an integer, got 3.5", 3, 34),
    Case("one-element-pair", layer("{type: conv, out: 8, kernel: [3]}"), "got a list of 1", 3, 34),
    Case("three-element-pair", layer("{type: conv, out: 8, kernel: [3, 3, 3]}"), "got a list of 3", 3, 34),
    Case("boolean-for-int", layer("{type: conv, out: true, kernel: 3}"), "`out` must be an integer, got the "
         "boolean true", 3, 23),
    Case("mapping-for-int", layer("{type: conv, out: 8, kernel: {h: 3}}"), "got a mapping", 3, 34),
    Case("list-for-bool", layer("{type: conv, out: 8, kernel: 3, bias: [true]}"), "`bias` must be true or false, "
         "got a list", 3, 43),
    Case("padding-of-three", layer("{type: conv, out: 8, kernel: 3, padding: [1, 2, 3]}"), "takes 1, 2 or 4 "
         "integers, got a list of 3", 3, 46),
    Case("padding-typo", layer("{type: conv, out: 8, kernel: 3, padding: sme}"), "did you mean 'same'?", 3, 46),
    Case("activation-typo", layer("{type: conv, out: 8, kernel: 3, activation: rleu}"), "did you mean 'relu'?",
         3, 49),
    Case("list-as-name", layer("{type: relu, name: [a]}"), "`name` must be a name, got a list", 3, 24),
    Case("layers-not-a-list", "input: [3, 32, 32]\nlayers: relu\n", "`layers` must be a list of layers", 2, 9),
    Case("nested-list-entry", "input: [3, 32, 32]\nlayers: [[relu]]\n", "a layer entry is a type name", 2, 10),
    Case("input-as-string", "input: 3x32x32\nlayers: [relu]\n", "`input` must be [C, H, W]", 1, 8),
    Case("input-of-two", "input: [3, 32]\nlayers: [relu]\n", "`input` must be [C, H, W]", 1, 8),
    Case("number-for-float", layer("{type: dropout, p: abc}"), "`p` must be a number, got 'abc'", 3, 24),
    Case("nan-for-float", layer("{type: leaky_relu, slope: .nan}"), "must be a finite number", 3, 31),
    Case("attributes-not-a-mapping", "input: [3, 32, 32]\nlayers: [{conv: 3}]\n", "the attributes of 'conv' must "
         "be a mapping", 2, 17),
    # ------------------------------------------------------------------------------- zero, negative, absurd
    Case("zero-channels", layer("{type: conv, out: 0, kernel: 3}"), "`out` must be at least 1, got 0", 3, 23),
    Case("negative-channels", layer("{type: conv, out: -4, kernel: 3}"), "`out` must be at least 1, got -4", 3, 23),
    Case("zero-stride", layer("{type: conv, out: 4, kernel: 3, stride: 0}"), "`stride` must be at least 1", 3, 45),
    Case("zero-dilation", layer("{type: conv, out: 4, kernel: 3, dilation: [1, 0]}"), "`dilation` must be at "
         "least 1, got 0", 3, 51),
    Case("negative-padding", layer("{type: conv, out: 4, kernel: 3, padding: -1}"), "`padding` must be at least "
         "0, got -1", 3, 46),
    Case("zero-input", "input: [0, 32, 32]\nlayers: [relu]\n", "`input` must be at least 1, got 0", 1, 9),
    Case("negative-repeat", layer("{type: relu, repeat: -1}"), "`repeat` must be at least 0, got -1", 3, 26),
    Case("zero-repeat-alone", layer("{type: relu, repeat: 0}"), "no layer exists for these parameters", 3, 3),
    Case("zero-chunks", layer("{type: split, chunks: 0}"), "`chunks` must be at least 1", 3, 27),
    Case("int-above-int64", layer("{type: conv, out: 99999999999999999999, kernel: 1}"), "`out` is too large", 3,
         23),
    Case("int-of-5000-digits", layer(f"{{type: conv, out: {'9' * 5000}, kernel: 1}}"), "(5000 characters); the "
         "most is 2**63-1", 3, 23),
    Case("absurd-kernel", layer("{type: conv, out: 4, kernel: 100000}"), "window of 100000 is larger than the "
         "padded input of 32", 3, 26),
    Case("absurd-repeat", layer("{type: relu, repeat: 1000000000}"), "more than 100,000 layers; hint: raise "
         "the limit with --max-layers", 3, 18),
    # ---------------------------------------------------------------------------- unknown types and attributes
    Case("type-typo", layer("{type: cnov, out: 4, kernel: 3}"), "unknown layer type 'cnov'; hint: did you mean "
         "'conv'?", 3, 12),
    Case("attribute-typo", layer("{type: conv, out: 4, kernal: 3}"), "unknown attribute 'kernal' for layer type "
         "'conv'; hint: did you mean 'kernel'?", 3, 26),
    Case("bare-type-typo", "input: [3, 32, 32]\nlayers: [relu, rleu]\n", "did you mean 'relu'?", 2, 16),
    Case("top-level-typo", "input: [3, 32, 32]\nlayer: [relu]\n", "unknown top-level key 'layer'; hint: did you "
         "mean 'layers'?", 2, 1),
    Case("input-key-typo", "input: {chanels: 3, height: 8, width: 8}\nlayers: [relu]\n", "did you mean "
         "'channels'?", 1, 9),
    Case("attribute-on-flatten", layer("{type: flatten, inplace: true}"), "flatten takes no attributes", 3, 21),
    Case("missing-attribute", layer("{type: conv, kernel: 3}"), "layer type 'conv' needs the attribute `out`", 3, 5),
    Case("entry-without-type", layer("{name: a, out: 3}"), "layer entry has no `type`", 3, 5),
    Case("call-typo", layer("{type: relu, call: modul}"), "`call` must be one of module", 3, 24),
    # ----------------------------------------------------------------------------------------- references
    Case("undefined-input", layer("{type: relu, input: foo}"), "unknown layer 'foo'; hint: name `input` or a "
         "layer written before this one", 3, 25),
    Case("input-typo", f"{H}  - {{type: relu, name: first}}\n  - {{type: relu, input: frist}}\n",
         "did you mean 'first'?", 4, 25),
    Case("later-input", f"{H}  - {{type: relu, input: r2}}\n  - {{type: relu, name: r2}}\n",
         "layer 'r2' is defined later (line 4)", 3, 25),
    Case("own-input", layer("{type: relu, name: r1, input: r1}"), "layer 'r1' reads itself", 3, 35),
    Case("inputs-on-one-input-layer", f"{H}  - {{type: relu, name: r1}}\n  - {{type: relu, inputs: [r1, input]}}\n",
         "reads one input, got 2; hint: use `input: NAME`", 4, 18),
    Case("input-and-inputs", layer("{type: add, input: a, inputs: [a, b]}"), "give either `input` or `inputs`",
         3, 27),
    Case("empty-inputs", layer("{type: add, inputs: []}"), "`inputs` must be a list of layer names", 3, 25),
    Case("one-input-to-add", layer("{type: add, inputs: [input]}"), "needs at least 2 inputs, got 1", 3, 17),
    Case("duplicate-layer-name", f"{H}  - {{type: relu, name: a}}\n  - {{type: relu, name: a}}\n",
         "duplicate layer name 'a' (first at line 3)", 4, 18),
    Case("name-input", layer("{type: relu, name: input}"), "'input' cannot be a name", 3, 18),
    Case("name-with-slash", layer("{type: relu, name: a/b}"), "'a/b' cannot be a name", 3, 18),
    Case("split-without-chunk", f"{H}  - {{type: split, chunks: 3, name: s}}\n  - {{type: relu, input: s}}\n",
         "split 's' has 3 outputs; name one; hint: write s.0 .. s.2", 4, 25),
    Case("split-chunk-out-of-range", f"{H}  - {{type: split, chunks: 3, name: s}}\n  - {{type: relu, input: s.3}}\n",
         "split 's' has outputs 0 .. 2, not 3", 4, 25),
    Case("empty-layers", "input: [3, 32, 32]\nlayers: []\n", "`layers` is empty", 2, 9),
    Case("no-layers", "input: [3, 32, 32]\n", "spec has no `layers:`", 1, 1),
    Case("no-input", "layers: [relu]\n", "spec has no `input:`", 1, 1),
    # ---------------------------------------------------------------------------------------------- shapes
    Case("concat-of-different-sizes",
         f"{H}  - {{type: conv, out: 4, kernel: 3, name: a}}\n  - {{type: conv, out: 4, kernel: 1, name: b, "
         "input: input}\n  - {type: concat, inputs: [a, b]}\n", "concat needs equal spatial sizes, got 4x30x30, "
         "4x32x32", 5, 5),
    Case("add-of-different-shapes",
         f"{H}  - {{type: conv, out: 4, kernel: 1, name: a}}\n  - {{type: conv, out: 5, kernel: 1, name: b, "
         "input: input}\n  - {type: add, inputs: [a, b]}\n", "add needs inputs of equal shape, got 4x32x32, 5x32x32",
         5, 5),
    Case("mul-of-different-shapes",
         f"{H}  - {{type: conv, out: 4, kernel: 1, name: a}}\n  - {{type: mul, inputs: [a, input]}}\n",
         "mul needs equal shapes", 4, 5),
    Case("window-larger-than-input", "input: [3, 4, 4]\nlayers: [{type: conv, out: 4, kernel: 7}]\n",
         "window of 7 is larger than the padded input of 4", 2, 31),
    Case("map-shrinks-to-zero", "input: [3, 4, 4]\nlayers:\n  - {type: maxpool, kernel: 2}\n  - {type: maxpool, "
         "kernel: 2}\n  - {type: maxpool, kernel: 2}\n", "layer 'maxpool3': window of 2 is larger than the padded "
         "input of 1", 5, 21),
    Case("groups-do-not-divide", layer("{type: conv, out: 4, kernel: 3, groups: 2}"), "groups=2 does not divide "
         "the 3 input channels", 3, 37),
    Case("conv-after-flatten", f"{H}  - flatten\n  - {{type: conv, out: 4, kernel: 3}}\n", "conv needs a C x H x W "
         "input, got a flat vector of 3072", 4, 5),
    Case("split-sizes-do-not-add-up", layer("{type: split, sizes: [1, 1]}"), "sizes add up to 2, the input has 3 "
         "channels", 3, 19),
    Case("upsample-without-size", layer("upsample"), "upsample takes either `scale` or `size`", 3, 5),
    Case("output-padding-too-large", layer("{type: conv_transpose, out: 4, kernel: 3, stride: 2, output_padding: "
         "2}"), "output_padding must be smaller than the stride", 3, 58),
    Case("pad-same", layer("{type: pad, padding: same}"), "pad needs explicit sizes", 3, 17),
    Case("pool-padding-above-half-kernel", layer("{type: maxpool, kernel: 3, padding: 2}"), "padding 2 is more "
         "than half the kernel 3 along the height; PyTorch refuses it; hint: pad at most 1 on each side", 3, 32),
    Case("avgpool-padding-above-half-kernel", layer("{type: avgpool, kernel: [4, 2], padding: [2, 2]}"),
         "padding 2 is more than half the kernel 2 along the width", 3, 37),
    Case("output-above-int64", "input: [3, 3037000500, 3037000500]\nlayers:\n  - {type: upsample, scale: "
         "4000000000}\n", "is too large (a size above 2**63-1)", 3, 5),
    # ---------------------------------------------------------------------------------------------- blocks
    Case("unknown-block", BLOCK + "layers:\n  - {type: bb, out: 4}\n", "unknown layer type 'bb'; hint: did you "
         "mean 'b'?", 8, 12),
    Case("missing-block-parameter", BLOCK + "layers:\n  - {type: b}\n", "block 'b' needs the parameter `out`", 8, 5),
    Case("extra-block-parameter", BLOCK + "layers:\n  - {type: b, out: 4, stride: 2}\n", "block 'b' has no "
         "parameter 'stride'; hint: its parameters: out", 8, 23),
    Case("parameter-typo", BLOCK + "layers:\n  - {type: b, otu: 4}\n", "did you mean 'out'?", 8, 15),
    Case("block-uses-itself", "input: [3, 32, 32]\nblocks:\n  b: {layers: [relu, b]}\nlayers: [b]\n",
         "block 'b' uses itself (b -> b)", 3, 22),
    Case("blocks-use-each-other", "input: [3, 32, 32]\nblocks:\n  a: {layers: [b]}\n  b: {layers: [relu, a]}\n"
         "layers: [a]\n", "block 'a' uses itself (a -> b -> a)", 4, 22),
    Case("dollar-names-no-parameter", BLOCK.replace("$out", "$ot") + "layers:\n  - {type: b, out: 4}\n",
         "unknown block parameter 'ot'; hint: did you mean 'out'?", 6, 27),
    Case("dollar-in-block-without-parameters", "input: [3, 32, 32]\nblocks:\n  b: {layers: [{type: conv, out: $c, "
         "kernel: 1}]}\nlayers: [b]\n", "$c names no parameter (this block declares none)", 3, 34),
    Case("dollar-outside-blocks", layer("{type: conv, out: $out, kernel: 1}"), "$out names no parameter "
         "(this spec declares no `params:`)", 3, 23),
    Case("block-named-like-a-type", "input: [3, 32, 32]\nblocks:\n  relu: {layers: [tanh]}\nlayers: [relu]\n",
         "block name 'relu' is a layer type", 3, 3),
    Case("block-without-layers", "input: [3, 32, 32]\nblocks:\n  b: {params: [x]}\nlayers: [b]\n",
         "block 'b' has no `layers:`", 3, 6),
    Case("block-takes-no-parameters", "input: [3, 32, 32]\nblocks:\n  b: {layers: [relu]}\nlayers: [{type: b, out: "
         "4}]\n", "block 'b' takes no parameters, got 'out'", 4, 20),
    Case("block-over-layer-limit", "input: [3, 32, 32]\nblocks:\n  b: {layers: [{type: relu, repeat: 1000}]}\n"
         "  c: {layers: [{type: b, repeat: 1000}]}\nlayers: [{type: c, repeat: 2}]\n",
         "spec expands to more than 100,000 layers", 5, 20),
    Case("block-given-two-inputs", "input: [3, 32, 32]\nblocks:\n  b: {layers: [relu]}\nlayers:\n  - {type: relu, "
         "name: a}\n  - {type: b, inputs: [a, input]}\n", "block 'b' reads one input, got 2", 6, 15),
    Case("block-parameter-twice", "input: [3, 32, 32]\nblocks:\n  b: {params: [x, x], layers: [relu]}\n"
         "layers: [b]\n", "declares parameter 'x' twice", 3, 19),
    # ---------------------------------------------------------------------------------------- bytes, encodings
    Case("not-utf8", b"input: [3, 32, 32]\nlayers:\n  - {type: relu, name: caf\xe9}\n", "not UTF-8 text (byte 0xe9)",
         3, 27),
    Case("utf16", "input: [3, 32, 32]\nlayers: [relu]\n".encode("utf-16"), "the file looks like UTF-16", 1, 1),
    Case("not-utf8-after-multibyte", "input: [3, 32, 32]\nlayers: [{type: relu, name: é".encode() + b"\xff}]\n",
         "not UTF-8 text (byte 0xff)", 2, 30),
    # ------------------------------------------------------------------ expressions, conditions, parameters
    Case("expression-not-an-integer", "input: [3, 32, 32]\nparams: [{w: 32}]\nlayers:\n"
         "  - {type: conv, out: $(w / 3), kernel: 1}\n", "`out` must be an integer, got 10.666666666666666", 4, 23),
    Case("expression-unknown-name", "input: [3, 32, 32]\nparams: [{w: 32}]\nlayers:\n"
         "  - {type: conv, out: $(w * wdith), kernel: 1}\n", "unknown parameter 'wdith'", 4, 29),
    Case("expression-attribute-access", layer("{type: conv, out: $(().__class__), kernel: 1}"),
         "attribute access (`.`) is not part of the language", 3, 25),
    Case("expression-huge-power", layer("{type: conv, out: $(10 ** 10 ** 10), kernel: 1}"),
         "exponent 10000000000 is too large", 3, 31),
    Case("expression-other-function", layer("{type: conv, out: $(len(1)), kernel: 1}"), "unknown function 'len'",
         3, 25),
    Case("expression-unclosed", layer("{type: conv, out: $(max(1, 2)), kernel: 1}"), "unclosed expression", 3, 23),
    Case("expression-syntax", layer("{type: conv, out: $(2 +), kernel: 1}"), "invalid expression", 3, 25),
    Case("expression-division-by-zero", layer("{type: conv, out: $(4 // 0), kernel: 1}"), "division by zero", 3,
         25),
    Case("dollar-with-operator", "input: [3, 32, 32]\nparams: [{w: 32}]\nlayers:\n"
         "  - {type: conv, out: 4, kernel: 1, groups: $w // 8}\n", "is not a parameter name; hint: write an "
         "expression as $(w // 8)", 4, 45),
    Case("when-not-boolean", layer("{type: relu, when: 1}"), "`when` must be true or false", 3, 24),
    Case("reference-to-absent-entry", f"{H}  - {{type: relu, name: a, when: false}}\n  - {{type: add, inputs: "
         "[input, a]}\n", "layer 'a' does not exist for these parameters: its `when: false` (line 3) is false",
         4, 33),
    Case("every-entry-absent", f"{H}  - {{type: relu, when: false}}\n", "no layer exists for these parameters",
         3, 3),
    Case("top-level-parameter-without-default", "input: [3, $res, $res]\nparams: [res]\nlayers: [relu]\n",
         "parameter 'res' has no default", 2, 10),
    Case("top-level-parameter-typo", "input: [3, $rez, $res]\nparams: [{res: 32}]\nlayers: [relu]\n",
         "unknown parameter 'rez'; hint: did you mean 'res'?", 1, 12),
    Case("top-level-params-not-a-list", "input: [3, 32, 32]\nparams: {res: 32}\nlayers: [relu]\n",
         "`params` must be a list", 2, 9),
]

COMMANDS = [("cost", "--json"), ("rf", "--json"), ("validate",)]


def _invoke(args: list[str], input: bytes | None = None):
    return CliRunner().invoke(app, args, input=input)


def _check(result, file: str, case: Case) -> None:
    """The contract: exit 2, empty stdout, one positioned message (maybe with its source line and a caret)."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == case.code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.rstrip("\n").split("\n")
    prefix = f"{file}:{case.line}:{case.column}: error: "
    assert lines[0].startswith(prefix), f"expected {prefix!r}, got {lines[0]!r}"
    assert case.fragment in lines[0]
    assert len(lines) in (1, 3), result.stderr
    if len(lines) == 3:  # the source line, then a caret under the column
        assert lines[1].startswith("  ") and re.fullmatch(r" *\^", lines[2]), result.stderr
        assert all(ch.isprintable() for ch in lines[1]), "a control character reached the terminal"


def test_catalogue_is_large_and_distinct():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_spec_is_refused_with_its_position(case: Case, tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode("utf-8"))
    for command in COMMANDS:
        _check(_invoke([*command, str(path)]), str(path), case)


@pytest.mark.parametrize("case", CASES[::7], ids=[c.id for c in CASES[::7]])
def test_bad_spec_on_standard_input(case: Case):
    data = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8")
    _check(_invoke(["cost", "--json", "-"], input=data), "<stdin>", case)


def test_no_case_prints_a_traceback(tmp_path: Path):
    """All cases once more, through every command, collecting every stream: not one Python traceback."""
    seen = []
    for k, case in enumerate(CASES):
        path = tmp_path / f"{k}.yaml"
        path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode("utf-8"))
        for command in COMMANDS:
            result = _invoke([*command, str(path)])
            seen.append((case.id, result.exit_code, result.stdout + result.stderr))
    assert [(i, code) for i, code, _ in seen if code != 2] == []
    assert [i for i, _, text in seen if "Traceback" in text] == []


def test_caret_points_at_the_column(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text(layer("{type: conv, out: 8, kernel: 3, kernal: 5}"))
    err = _invoke(["cost", str(path)]).stderr.split("\n")
    assert err[1] == "    - {type: conv, out: 8, kernel: 3, kernal: 5}"
    assert err[2].index("^") == err[1].index("kernal")


def test_long_line_is_cut_around_the_caret(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text("input: [3, 32, 32]\nlayers: [" + "relu, " * 200 + "rleu, " + "relu, " * 200 + "relu]\n")
    err = _invoke(["cost", str(path)]).stderr.split("\n")
    assert err[0].startswith(f"{path}:2:1210: error: unknown layer type 'rleu'")
    assert len(err[1]) < 140 and err[1][err[2].index("^"):].startswith("rleu")


# ------------------------------------------------------------------------------------------- files and streams

def _file_error(result, file: str, fragment: str) -> None:
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{file}:1:1: error: ") and fragment in result.stderr
    assert result.stderr.count("\n") == 1


def test_directory_as_spec(tmp_path: Path):
    _file_error(_invoke(["cost", str(tmp_path)]), str(tmp_path), "is a directory, not a spec file")


def test_missing_file(tmp_path: Path):
    missing = str(tmp_path / "nope.yaml")
    _file_error(_invoke(["rf", missing]), missing, "no such file")


def test_file_over_the_byte_limit(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    _file_error(_invoke(["cost", "--max-bytes", "10", str(path)]), str(path), "raise the limit with --max-bytes")


def test_endless_device_is_read_only_up_to_the_limit():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    _file_error(_invoke(["cost", "--max-bytes", "1000", "/dev/zero"]), "/dev/zero", "more than the limit of 1,000")


def test_spec_from_standard_input():
    result = _invoke(["cost", "--json", "-"], input=b"input: [3, 8, 8]\nlayers: [relu]\n")
    assert result.exit_code == 0 and result.stderr == ""
    assert '"spec": "<stdin>"' in result.stdout


def test_standard_input_over_the_byte_limit():
    _file_error(_invoke(["cost", "--max-bytes", "10", "-"], input=b"input: [3, 8, 8]\nlayers: [relu]\n"),
                "<stdin>", "raise the limit with --max-bytes")


def test_limits_must_be_positive(tmp_path: Path):
    result = _invoke(["cost", "--max-layers", "0", "-"], input=b"input: [3, 8, 8]\nlayers: [relu]\n")
    assert result.exit_code == 2 and result.stdout == "" and "--max-layers must be at least 1" in result.stderr


# ----------------------------------------------------------------------------------------- as a real process

def _process(args: list[str], input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], input=input, capture_output=True, timeout=60,
                          cwd=ROOT)


@pytest.mark.parametrize("case_id", ["tab-indentation", "duplicate-key-flow", "blocks-use-each-other",
                                     "not-utf8"])
def test_subprocess(case_id: str, tmp_path: Path):
    case = next(c for c in CASES if c.id == case_id)
    path = tmp_path / "spec.yaml"
    path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode("utf-8"))
    done = _process(["cost", "--json", str(path)])
    err = done.stderr.decode()
    assert done.returncode == 2 and done.stdout == b"" and "Traceback" not in err
    assert err.startswith(f"{path}:{case.line}:{case.column}: error: ") and case.fragment in err


def test_subprocess_standard_input_and_missing_file(tmp_path: Path):
    done = _process(["validate", "-"], input=b"input: [3, 8, 8]\nlayers: [{type: relu, input: nope}]\n")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith("<stdin>:2:30: error: unknown layer 'nope'")
    done = _process(["rf", str(tmp_path / "missing.yaml")])
    assert done.returncode == 2 and done.stdout == b"" and b"no such file" in done.stderr
