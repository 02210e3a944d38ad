"""ONNX in and out: `cnncalc export` (a spec as an ONNX graph) and `cnncalc import` (an ONNX model read back as a
spec). Each submodule imports `onnx` itself, lazily; importing this package imports none of them (the YAML path
never loads onnx or protobuf).

- export.py: spec -> ONNX, one function per layer type (`MAPPINGS`), the opset and naming conventions.
"""
