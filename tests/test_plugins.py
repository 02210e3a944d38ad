"""Plug-ins through entry points, as an installed package provides them.

`examples/cnncalc-plugin-example` is made visible the way an installation would: its source directory on the path
and a `*.dist-info` directory holding METADATA and the entry_points.txt that pip writes from its pyproject.toml, so
`importlib.metadata` finds it as it finds any installed package. Each run is a fresh process (a loaded plug-in
stays registered in its process). Expected counts are formulas written here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import spec_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cnncalc-plugin-example"

# input 3 x 8 x 8; conv 4 out, 3x3, pad 1, bias -> 4 x 8 x 8; instancenorm over it (n = 64 per channel)
C, N = 4, 64
CONV_PARAMS = 4 * 3 * 9 + 4
CONV_MACS = C * N * 3 * 9
NORM = {"params": 2 * C, "adds": C * (4 * N - 1), "mults": C * (3 * N + 2), "activations": C}
LAYERS = [{"name": "c", "type": "conv", "out": 4, "kernel": 3, "padding": 1},
          {"name": "norm", "type": "instancenorm"}]


def entry_points_txt(pyproject: str) -> str:
    """The entry_points.txt pip writes from `[project.entry-points."GROUP"]` tables (read here without cnncalc)."""
    out = []
    for line in pyproject.splitlines():
        header = re.fullmatch(r'\[project\.entry-points\."([^"]+)"\]', line.strip())
        if header:
            out.append(f"\n[{header.group(1)}]")
        elif out and re.fullmatch(r'\s*[\w.-]+\s*=\s*"[^"]*"\s*', line):
            name, value = (part.strip().strip('"') for part in line.split("=", 1))
            out.append(f"{name} = {value}")
        elif line.startswith("["):
            out.append("") if out and out[-1] else None
    return "\n".join(out).strip() + "\n"


def install(site: Path, name: str, entry_points: str) -> None:
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path) -> Path:
    """A directory that holds the example as installed (its metadata; its code stays in examples/)."""
    site = tmp_path / "site"
    install(site, "cnncalc-plugin-example", entry_points_txt((EXAMPLE / "pyproject.toml").read_text()))
    return site


def cnncalc(site: Path, *args: str, stdin: str | None = None, code: str | None = None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(EXAMPLE / "src"), str(ROOT)]))
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "cnncalc", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, cwd=ROOT)


def spec(tmp_path, layers=LAYERS, name="net") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(spec_text((3, 8, 8), layers))
    return str(path)


def test_the_generated_entry_points_are_the_example_s():
    assert entry_points_txt((EXAMPLE / "pyproject.toml").read_text()).split("\n") == [
        "[cnncalc.layers]", "instancenorm = cnncalc_plugin_example.layers:InstanceNorm", "",
        "[cnncalc.metrics]", "weight_bytes = cnncalc_plugin_example.metrics:WEIGHT_BYTES", "",
        "[cnncalc.conventions]", "twice_macs = cnncalc_plugin_example.conventions:TWICE_MACS", ""]


def test_the_readme_documents_every_entry_point_group():
    from cnncalc.plugins import GROUPS
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Plug-ins"):]
    assert all(f"`{group}`" in section and f'"{group}"' in section for group in GROUPS.values())


def test_cost_json_counts_the_plugin_layer_and_metric(site, tmp_path):
    result = cnncalc(site, "cost", spec(tmp_path), "--json", "--metric", "weight_bytes")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert "weight_bytes" in doc["columns"], "the plug-in metric is not a column of `cost --json`"
    conv, norm = doc["layers"]
    assert norm["type"] == "instancenorm" and norm["output"] == [4, 8, 8]
    assert {k: norm[k] for k in NORM} == NORM and norm["macs"] == 0
    assert (conv["weight_bytes"], norm["weight_bytes"]) == (4 * CONV_PARAMS, 4 * 2 * C)
    assert doc["totals"]["weight_bytes"] == 4 * (CONV_PARAMS + 2 * C)


def test_instancenorm_attributes_and_receptive_field(site, tmp_path):
    plain = spec(tmp_path, [LAYERS[0], {"name": "norm", "type": "instancenorm", "affine": False}])
    norm = json.loads(cnncalc(site, "cost", plain, "--json").stdout)["layers"][1]
    assert (norm["params"], norm["adds"], norm["mults"]) == (0, C * (3 * N - 1), C * (2 * N + 2))
    rf = json.loads(cnncalc(site, "rf", spec(tmp_path), "--json").stdout)["layers"]
    assert not rf[0]["global"] and rf[1]["global"]  # the instance's own statistics: the whole map


def test_the_table_group_by_and_compare_show_them(site, tmp_path):
    net = spec(tmp_path)
    table = cnncalc(site, "cost", net, "--metric", "weight_bytes")
    assert table.returncode == 0, table.stderr
    assert "instancenorm" in table.stdout, "the cost table leaves out the plug-in layer"
    assert "weight bytes" in table.stdout and f"{4 * (CONV_PARAMS + 2 * C):,}" in table.stdout, \
        "the cost table leaves out the plug-in metric"

    groups = json.loads(cnncalc(site, "cost", net, "--json", "--group-by", "type", "--metric", "weight_bytes").stdout)
    by_type = {g["group"]: g for g in groups["groups"]}
    assert by_type["instancenorm"]["weight_bytes"] == 4 * 2 * C and by_type["instancenorm"]["adds"] == NORM["adds"]

    other = spec(tmp_path, [LAYERS[0]], "conv_only")
    compared = json.loads(cnncalc(site, "compare", net, other, "--json", "--metric", "weight_bytes").stdout)
    assert [s["totals"]["weight_bytes"] for s in compared["specs"]] == [4 * (CONV_PARAMS + 2 * C), 4 * CONV_PARAMS]
    text = cnncalc(site, "compare", net, other, "--metric", "weight_bytes").stdout
    assert "weight bytes" in text, "the compare table leaves out the plug-in metric"


def test_layers_and_version_list_the_plugins(site):
    layers = cnncalc(site, "layers")
    assert layers.returncode == 0, layers.stderr
    assert re.search(r"\n\s+instancenorm\s+affine = true, eps = 1e-05\s+per channel", layers.stdout)
    for kind, name in (("layer", "instancenorm"), ("metric", "weight_bytes"), ("convention", "twice_macs")):
        assert f"plug-in {kind} {name} from cnncalc-plugin-example 0.1.0" in layers.stdout
    version = cnncalc(site, "--version")
    lines = version.stdout.splitlines()
    assert lines[0].startswith("cnncalc ") and len(lines) == 4
    assert "plug-in metric weight_bytes from cnncalc-plugin-example 0.1.0" in lines[2] and "--metric" in lines[2]


def test_the_plugin_convention(site, tmp_path):
    doc = json.loads(cnncalc(site, "cost", spec(tmp_path), "--json", "--convention", "twice_macs").stdout)
    assert doc["convention"] == "twice_macs" and doc["totals"]["macs"] == 2 * CONV_MACS
    out = cnncalc(site, "layers", "--convention", "twice_macs").stdout
    assert "FLOPs as twice the MACs" in out and "2 per MAC" in out


def test_nothing_is_loaded_unless_asked(site, tmp_path):
    """Start-up does not read package metadata; a spec of built-in types loads no plug-in."""
    code = ("import sys; from cnncalc.cli import main; sys.argv = ['cnncalc', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('importlib.metadata', 'cnncalc_plugin'))))")
    plain = cnncalc(site, "cost", spec(tmp_path, [LAYERS[0]]), "--json", code=code)
    assert plain.stdout.splitlines()[-1] == "[]"
    help_ = cnncalc(site, "--help", code=code)
    assert help_.stdout.splitlines()[-1] == "[]"
    version = cnncalc(site, "--version", code=code)
    assert "cnncalc_plugin_example" not in version.stdout.splitlines()[-1]  # listed, not imported
    used = cnncalc(site, "cost", spec(tmp_path), "--json", code=code)
    assert "cnncalc_plugin_example.layers" in used.stdout.splitlines()[-1]
    assert "cnncalc_plugin_example.metrics" not in used.stdout.splitlines()[-1]


def test_unknown_names_still_get_a_hint(site, tmp_path):
    result = cnncalc(site, "cost", spec(tmp_path, [{"type": "instancenrom"}]))
    assert result.returncode == 2 and not result.stdout
    assert "error: unknown layer type 'instancenrom'" in result.stderr
    result = cnncalc(site, "cost", spec(tmp_path), "--metric", "weight_byte")
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip() == "error: unknown metric 'weight_byte'; hint: did you mean 'weight_bytes'?"
    result = cnncalc(site, "cost", spec(tmp_path), "--convention", "twice_mac")
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip() == "error: unknown convention 'twice_mac'; hint: did you mean 'twice_macs'?"


BROKEN = ("[cnncalc.layers]\nbrokennorm = cnncalc_plugin_missing:Norm\n\n"
          "[cnncalc.metrics]\nbad_metric = cnncalc_plugin_example.metrics:_measure\n\n"
          "[cnncalc.conventions]\nmisnamed = cnncalc_plugin_example.conventions:TWICE_MACS\n")


def test_a_broken_plugin_is_named_with_its_error_and_the_rest_keeps_working(site, tmp_path):
    install(site, "cnncalc-broken", BROKEN)
    path = spec(tmp_path, [{"type": "brokennorm"}])
    line = next(k for k, text in enumerate(Path(path).read_text().splitlines(), 1) if "brokennorm" in text)
    layer = cnncalc(site, "cost", path)
    assert layer.returncode == 2 and not layer.stdout and "Traceback" not in layer.stderr
    assert re.fullmatch(rf"\S+:{line}:\d+: error: plug-in 'brokennorm' \(cnncalc\.layers entry point "
                        r"cnncalc_plugin_missing:Norm of cnncalc-broken 0\.1\.0\) failed to load: ModuleNotFoundError: "
                        r"No module named 'cnncalc_plugin_missing'; hint: fix or uninstall cnncalc-broken; .*",
                        layer.stderr.splitlines()[0])
    metric = cnncalc(site, "cost", spec(tmp_path), "--metric", "bad_metric")
    assert metric.returncode == 2 and not metric.stdout
    assert "plug-in 'bad_metric'" in metric.stderr and "not a cnncalc Metric" in metric.stderr
    convention = cnncalc(site, "cost", spec(tmp_path), "--convention", "misnamed")
    assert convention.returncode == 2 and "gives the convention 'twice_macs', not 'misnamed'" in convention.stderr

    works = cnncalc(site, "cost", spec(tmp_path), "--json", "--metric", "weight_bytes")  # the good plug-in, too
    assert works.returncode == 0 and json.loads(works.stdout)["totals"]["params"] == CONV_PARAMS + 2 * C
    layers = cnncalc(site, "layers")
    assert layers.returncode == 0 and "\n  conv " in layers.stdout and "\n  instancenorm " in layers.stdout
    assert "plug-in layer brokennorm from cnncalc-broken 0.1.0 (cnncalc_plugin_missing:Norm): broken:" \
        in " ".join(layers.stdout.split())


def test_pip_installs_the_example_into_a_fresh_environment(tmp_path):
    """The real thing, once: pip builds and installs the example into a new environment that sees this cnncalc.
    Needs a package index for the build backend (setuptools); skipped, saying so, only when pip cannot reach one."""
    import site as site_module
    import venv
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path / "probe"),
                            "setuptools>=61"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"pip cannot reach a package index: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    here = [p for p in site_module.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "cnncalc_dev.pth").write_text(  # this environment's packages, cnncalc's editable install too
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in here) + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                                str(EXAMPLE)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    run = lambda *args: subprocess.run([str(python), "-m", "cnncalc", *args], capture_output=True, text=True,  # noqa
                                       cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    version = run("--version").stdout
    assert "plug-in layer instancenorm from cnncalc-plugin-example 0.1.0" in version, version
    doc = json.loads(run("cost", spec(tmp_path), "--json", "--metric", "weight_bytes").stdout)
    assert doc["layers"][1]["type"] == "instancenorm" and doc["totals"]["weight_bytes"] == 4 * (CONV_PARAMS + 2 * C)
