"""Layer types: one class per YAML `type`, registered in `REGISTRY`. Import a family module to register it."""

from . import conv, elementwise, merge, pool, resample, squeeze_excitation  # noqa: F401  (registration)
from .base import GLOBAL, REGISTRY, RF_RULES, Dim, Layer, LayerError, Ops, Shape, build, fields_of, numel, register

__all__ = ["GLOBAL", "REGISTRY", "RF_RULES", "Dim", "Layer", "LayerError", "Ops", "Shape", "build", "fields_of",
           "numel", "register"]
