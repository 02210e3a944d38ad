"""torchvision's published "GFLOPS" (`Weights.meta["_ops"]`): the multiplications of conv and linear layers,
bias not counted, rounded to 3 decimals in billions. Measured equal on all 14 zoo models (torchvision 0.29)."""

from . import Convention, macs, register_convention, zero

_WEIGHTED = {"conv": macs("MACs: out elements * (C_in/groups)*kh*kw, no bias"),
             "conv_transpose": macs("MACs: in elements * (C_out/groups)*kh*kw, no bias"),
             "linear": macs("MACs: in features * out features, no bias"),
             "squeeze_excitation": macs("MACs of its two 1x1 convs: 2*C*squeeze, no bias")}

_NOT_COUNTED = ("add", "mul", "concat", "split", "channel_shuffle", "flatten", "dropout", "identity", "pad",
                "batchnorm", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool",
                "global_maxpool", "upsample", "lrn", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu",
                "silu", "hardswish", "hardsigmoid", "softmax")

CONVENTION = register_convention(Convention(
    "torchvision", "MACs of conv and linear layers, as torchvision's weights.meta['_ops'] (x 1e9, 3 decimals)",
    {**_WEIGHTED, **{t: zero("not counted: only conv and linear") for t in _NOT_COUNTED}}, statement=__doc__.strip()))
