"""The zoo against published figures: torchvision's num_params and GFLOPS (conv+linear MACs), fvcore's and
ptflops' totals (measured with torch 2.14, torchvision 0.29, fvcore 0.1.5.post20221221, ptflops 0.7.5, batch 1,
eval mode), and google-research/receptive_field's RECEPTIVE_FIELD_TABLE.md for the TF-Slim layouts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import cnncalc

ZOO = Path(__file__).resolve().parent.parent / "specs" / "zoo"


@lru_cache(maxsize=None)
def graph(name: str) -> cnncalc.Graph:
    path = ZOO / f"{name}.yaml"
    return cnncalc.load(path.read_text(), str(path))


@lru_cache(maxsize=None)
def totals(name: str, convention: str = "cnncalc") -> dict:
    return cnncalc.cost_report(graph(name), convention)["totals"]


# torchvision 0.29: weights.meta["num_params"] and meta["_ops"] (GFLOPS = conv+linear MACs / 1e9, 3 decimals);
# the exact MACs below are the figures and agree with meta["_ops"] to its 3 decimals.
# inception_v3's meta num_params (27,161,264) includes the auxiliary head: without it 23,834,568.
PUBLISHED = {
    "alexnet": (61_100_840, 714_188_480, 0.714),
    "vgg16": (138_357_544, 15_470_264_320, 15.470),
    "vgg16_bn": (138_365_992, None, 15.470),
    "resnet18": (11_689_512, 1_814_073_344, 1.814),
    "resnet50": (25_557_032, 4_089_184_256, 4.089),
    "resnet152": (60_192_808, None, 11.514),
    "googlenet": (6_624_904, 1_498_376_192, 1.498),
    "inception_v3": (27_161_264 - 3_326_696, 5_713_216_096, 5.713),
    "mobilenet_v2": (3_504_872, 300_774_272, 0.301),
    "mobilenet_v3_large": (5_483_032, None, 0.217),
    # written from torchvision/models/mobilenetv3.py; MobileNet_V3_Small_Weights.IMAGENET1K_V1's meta, and the
    # MACs measured with forward hooks on its Conv2d and Linear modules (torch 2.14.1, torchvision 0.29.1)
    "mobilenet_v3_small": (2_542_856, 56_510_400, 0.057),
    "squeezenet1_0": (1_248_424, 818_924_576, 0.819),
    "densenet121": (7_978_856, 2_834_161_664, 2.834),
    "shufflenet_v2_x1_0": (2_278_604, None, 0.145),
    "efficientnet_b0": (5_288_548, None, 0.386),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_torchvision_published_figures(name):
    params, macs, gflops = PUBLISHED[name]
    t = totals(name)
    assert t["params"] == params
    if macs is not None:
        assert t["macs"] == macs
    assert round(t["macs"] / 1e9, 3) == gflops
    assert totals(name, "torchvision")["macs"] == t["macs"]



# torchvision 0.29's sibling builders, each the same classes with another configuration: weights.meta["num_params"]
# and meta["_ops"]. A zoo spec set (`--set`) as the builder calls its class reaches them: its table is data.
SIBLINGS = {
    "resnet101": ("resnet50", {"depth3": 23}, 44_549_160, 7.801),  # ResNet(Bottleneck, [3, 4, 23, 3])
    "resnet152": ("resnet50", {"depth2": 8, "depth3": 36}, 60_192_808, 11.514),  # [3, 8, 36, 3]
    "densenet161": ("densenet121", {"growth_rate": 48, "depth3": 36, "depth4": 24, "num_init_features": 96},
                    28_681_000, 7.728),  # DenseNet(48, (6, 12, 36, 24), 96)
    "densenet169": ("densenet121", {"depth3": 32, "depth4": 32}, 14_149_480, 3.36),  # (6, 12, 32, 32)
    "densenet201": ("densenet121", {"depth3": 48, "depth4": 32}, 20_013_928, 4.291),  # (6, 12, 48, 32)
    "vgg11": ("vgg16", {"depth1": 1, "depth2": 1, "depth3": 2, "depth4": 2, "depth5": 2}, 132_863_336, 7.609),
    "vgg11_bn": ("vgg16", {"depth1": 1, "depth2": 1, "depth3": 2, "depth4": 2, "depth5": 2, "batch_norm": True},
                 132_868_840, 7.609),  # cfg "A"
    "vgg13": ("vgg16", {"depth3": 2, "depth4": 2, "depth5": 2}, 133_047_848, 11.308),  # cfg "B"
    "vgg13_bn": ("vgg16_bn", {"depth3": 2, "depth4": 2, "depth5": 2}, 133_053_736, 11.308),
    "vgg19": ("vgg16", {"depth3": 4, "depth4": 4, "depth5": 4}, 143_667_240, 19.632),  # cfg "E"
    "vgg19_bn": ("vgg16_bn", {"depth3": 4, "depth4": 4, "depth5": 4}, 143_678_248, 19.632),
    "vgg16_bn": ("vgg16", {"batch_norm": True}, 138_365_992, 15.470),
}


@pytest.mark.parametrize("sibling", sorted(SIBLINGS))
def test_zoo_parameters_give_torchvision_siblings(sibling):
    name, overrides, params, gflops = SIBLINGS[sibling]
    path = ZOO / f"{name}.yaml"
    values = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in overrides.items()}
    t = cnncalc.cost_report(cnncalc.load(path.read_text(), str(path), overrides=values))["totals"]
    assert (t["params"], round(t["macs"] / 1e9, 3)) == (params, gflops)

# Tool totals measured on torchvision's models (fvcore FlopCountAnalysis.total(); ptflops
# get_model_complexity_info(..., backend='pytorch') MACs).
TOOLS = {
    "alexnet": (714_197_696, 716_441_128),
    "vgg16": (15_470_289_408, 15_523_225_576),
    "vgg16_bn": (15_497_384_448, 15_550_320_616),
    "resnet18": (1_819_065_856, 1_825_313_768),
    "resnet50": (4_111_512_576, 4_132_436_968),
    "resnet152": (11_558_835_200, 11_602_639_848),
    "googlenet": (1_504_878_688, 1_513_907_448),
    "inception_v3": (5_731_282_144, 5_747_660_552),
    "mobilenet_v2": (314_193_216, 320_300_008),
    "mobilenet_v3_large": (226_033_824, 231_316_416),
    "mobilenet_v3_small": (59_649_536, 60_910_032),
    "squeezenet1_0": (819_093_576, 836_821_960),
    "densenet121": (2_865_546_752, 2_899_843_048),
    "shufflenet_v2_x1_0": (148_808_392, 152_387_568),
    "efficientnet_b0": (401_659_392, 410_196_896),
}


# torchvision's other ShuffleNetV2 widths are the same code with another stages_out_channels table
# (shufflenet_v2_x0_5 ... x2_0): the spec's parameters set to that table give their published num_params and _ops
# (ShuffleNet_V2_X*_Weights.IMAGENET1K_V1).
SHUFFLENET_V2 = {
    "x0_5": ((48, 96, 192, 1024), 1_366_792, 0.040),
    "x1_5": ((176, 352, 704, 1024), 3_503_624, 0.296),
    "x2_0": ((244, 488, 976, 2048), 7_393_996, 0.583),
}


@pytest.mark.parametrize("width", sorted(SHUFFLENET_V2))
def test_shufflenet_v2_widths_from_the_stage_table(width):
    channels, params, gflops = SHUFFLENET_V2[width]
    names = ("stage2_out", "stage3_out", "stage4_out", "conv5_out")
    path = ZOO / "shufflenet_v2_x1_0.yaml"
    g = cnncalc.load(path.read_text(), str(path), overrides={n: str(c) for n, c in zip(names, channels)})
    t = cnncalc.cost_report(g)["totals"]
    assert (t["params"], round(t["macs"] / 1e9, 3)) == (params, gflops)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_fvcore_and_ptflops_totals(name):
    fvcore, ptflops = TOOLS[name]
    assert totals(name, "fvcore")["macs"] == fvcore
    assert totals(name, "ptflops")["macs"] == ptflops
    assert totals(name, "ptflops")["params"] == PUBLISHED[name][0]  # ptflops' parameter count is the total


def test_the_two_call_forms_are_what_separates_the_presets_from_the_tools():
    # googlenet's BasicConv2d uses F.relu: as modules, ptflops would count each relu element twice.
    relus = [n for n in graph("googlenet").layers if n.type == "relu"]
    assert relus and all(n.entry.call == "functional" for n in relus)
    extra = sum(n.output[0] * n.output[1] * n.output[2] for n in relus)
    assert extra == 3_226_160  # measured: the module-form count exceeds ptflops' figure by this much


# google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md, resolution 224:
# (end-point, receptive field, effective stride, effective padding); end-points by their layer names in the specs
# (TF-Slim's Conv2d_1a_3x3 is the relu `Conv2d_1a_3x3/relu`, Conv2d_1_pointwise is `Conv2d_1/pointwise`)
RF_TABLE = {
    "slim_alexnet_v2": [("conv1", 11, 4, 0), ("pool1", 19, 8, 0), ("conv2", 51, 8, 16), ("conv3", 99, 16, 32),
                        ("conv4", 131, 16, 48), ("conv5", 163, 16, 64), ("pool5", 195, 32, 64)],
    "slim_vgg_16": [("conv1_1", 3, 1, 1), ("pool1", 6, 2, 2), ("conv2_1", 10, 2, 4), ("pool2", 16, 4, 6),
                    ("conv3_1", 24, 4, 10), ("conv3_2", 32, 4, 14), ("pool3", 44, 8, 18), ("conv4_1", 60, 8, 26),
                    ("conv4_2", 76, 8, 34), ("pool4", 100, 16, 42), ("conv5_1", 132, 16, 58),
                    ("conv5_2", 164, 16, 74), ("pool5", 212, 32, 90)],
    "slim_inception_v3": [("Conv2d_1a_3x3/relu", 3, 2, 0), ("Conv2d_2a_3x3/relu", 7, 2, 0),
                          ("Conv2d_2b_3x3/relu", 11, 2, 2), ("MaxPool_3a_3x3", 15, 4, 2),
                          ("Conv2d_3b_1x1/relu", 15, 4, 2), ("Conv2d_4a_3x3/relu", 23, 4, 2),
                          ("MaxPool_5a_3x3", 31, 8, 2), ("Mixed_5b", 63, 8, 18), ("Mixed_5c", 95, 8, 34),
                          ("Mixed_5d", 127, 8, 50), ("Mixed_6a", 159, 16, 58), ("Mixed_6b", 351, 16, 154),
                          ("Mixed_6c", 543, 16, 250), ("Mixed_6d", 735, 16, 346), ("Mixed_6e", 927, 16, 442),
                          ("Mixed_7a", 1055, 32, 490), ("Mixed_7b", 1183, 32, 554), ("Mixed_7c", 1311, 32, 618)],
    "slim_mobilenet_v1": [("Conv2d_0", 3, 2, 0), ("Conv2d_1/pointwise", 7, 2, 2), ("Conv2d_2/pointwise", 11, 4, 2),
                          ("Conv2d_3/pointwise", 19, 4, 6), ("Conv2d_4/pointwise", 27, 8, 6),
                          ("Conv2d_5/pointwise", 43, 8, 14), ("Conv2d_6/pointwise", 59, 16, 14),
                          ("Conv2d_7/pointwise", 91, 16, 30), ("Conv2d_8/pointwise", 123, 16, 46),
                          ("Conv2d_9/pointwise", 155, 16, 62), ("Conv2d_10/pointwise", 187, 16, 78),
                          ("Conv2d_11/pointwise", 219, 16, 94), ("Conv2d_12/pointwise", 251, 32, 94),
                          ("Conv2d_13/pointwise", 315, 32, 126)],
    "slim_resnet_v1_50": [("block1", 35, 8, 15), ("block2", 99, 16, 47), ("block3", 291, 32, 143),
                          ("block4", 483, 32, 239)],
}


@pytest.mark.parametrize("name", sorted(RF_TABLE))
def test_receptive_field_table(name):
    rows = {r["name"]: r for r in cnncalc.rf_report(graph(name))["layers"]}
    for end_point, size, jump, padding in RF_TABLE[name]:
        for axis in ("height", "width"):
            rf = rows[end_point]["rf"][axis]
            assert (end_point, rf["size"], rf["jump"], rf["padding"], rf["aligned"]) == \
                (end_point, size, jump, padding, True)


def test_mobilenet_v1_tf_slim_docs():
    # TF-Slim mobilenet_v1.md: 569 million MACs, 4.24 million parameters (with the 1001-class classifier);
    # the mobilenet_v1.py docstring: the base network has 567,716,352 MACs.
    t = totals("slim_mobilenet_v1")
    assert round(t["macs"] / 1e6) == 569
    assert t["macs"] - 1024 * 1001 == 567_716_352
    assert round(t["params"] / 1e6, 2) in (4.23, 4.24)


def test_unet_has_transposed_convs_and_skips():
    g = graph("unet_small")
    types = {n.type for n in g.layers}
    assert {"conv_transpose", "concat", "maxpool"} <= types
    assert g.layers[-1].output[1:] == g.input[1:]
