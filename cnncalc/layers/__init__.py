"""Layer types: one class per YAML `type`, registered in `REGISTRY`. Import a family module to register it."""

from . import conv, elementwise, merge, pool, resample, squeeze_excitation  # noqa: F401  (registration)
from .base import GLOBAL, REGISTRY, Layer, LayerError, Ops, Shape, build, fields_of, numel

__all__ = ["GLOBAL", "REGISTRY", "Layer", "LayerError", "Ops", "Shape", "build", "fields_of", "numel"]
