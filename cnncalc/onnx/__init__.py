"""ONNX in and out: `cnncalc export` (a spec as an ONNX graph) and `cnncalc import` (an ONNX model read back as a
spec). Each submodule that needs `onnx` imports it itself, lazily; importing this package imports none of them (the
YAML path never loads onnx or protobuf).

- export.py: spec -> ONNX, one function per layer type (`MAPPINGS`), the opset and naming conventions.
- read.py: `read_onnx`, the entry point of import (`Imported`, the pass over the graph, what is read and how).
- model.py: loading and validating the ModelProto, the limits on what is read, `_Reader` (the state of the pass:
  order, values, names, entries, skipped nodes).
- ops.py: one handler per ONNX op type (`HANDLERS`), the folding of patterns into one layer, shape arithmetic.
- shaping.py: the entries read shaped into a spec: sizes, blocks, `repeat:`, and the check that it builds the same
  graph.
- spec_text.py: the YAML text of the spec read (`spec_text`).
"""
