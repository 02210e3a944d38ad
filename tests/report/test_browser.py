"""The report as a person sees it: opened from disk in headless Chromium (the system's, driven by Playwright).

One browser for the module. Checked: no console error or uncaught exception, one graph node per layer, sorting
by a column heading, shading by a chosen column, the tooltip, the blocks view and picking a block's rows by its
node, a training step's columns, dark mode; a screenshot is saved.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from needs import missing, require

ROOT = Path(__file__).resolve().parents[2]
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = require("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        # a fresh profile each run: an old one can make chromium wait on refused connections
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=executable, args=CHROMIUM_FLAGS,
            headless=True, viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


def made(tmp_path: Path, spec: str, *args: str) -> tuple[Path, dict]:
    out = tmp_path / (Path(spec).stem + ".html")
    assert CliRunner().invoke(app, ["report", spec, "-o", str(out), *args]).exit_code == 0
    step = list(args)
    if "--input" in step:  # a sweep: the page's table is that of the spec's own input
        del step[step.index("--input"):step.index("--input") + 2]
    doc = json.loads(CliRunner().invoke(app, ["cost", spec, "--json", *step]).stdout)
    return out, doc


def opened(browser, path: Path, scheme: str = "light"):
    page = browser.new_page()
    page.emulate_media(color_scheme=scheme)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: errors.append(f"request {request.url}")
            if not request.url.startswith("file://") else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def column(page, name: str) -> list[int]:
    return [int(v) for v in page.eval_on_selector_all(
        f"#layers tbody td[data-col='{name}']", "cells => cells.map(c => c.dataset.v)")]


def test_resnet50_renders_sorts_shades_and_explains(browser, tmp_path):
    path, doc = made(tmp_path, RESNET50, "--input", "64:256:64")
    page, errors = opened(browser, path)
    layers_view = "svg.graph[data-view=layers]"
    assert page.locator(f"{layers_view} .node.layer").count() == len(doc["layers"])
    assert page.locator(f"{layers_view} .node.input").count() == 1
    assert page.locator("#sweep-panel svg circle").count() == 4 and page.locator("#rf-panel svg").count() == 1

    # sorting: MACs first descending, then ascending; `#` back to file order
    macs = [row["macs"] for row in doc["layers"]]
    page.click("#layers th[data-col=macs]")
    assert column(page, "macs") == sorted(macs, reverse=True)
    assert page.get_attribute("#layers th[data-col=macs]", "aria-sort") == "descending"
    page.click("#layers th[data-col=macs]")
    assert column(page, "macs") == sorted(macs)
    page.click("#layers th:first-child")
    assert column(page, "macs") == macs

    # shading: the node of the largest value is the darkest, for the column chosen
    def opacity(row: int) -> float:
        return float(page.eval_on_selector(f"{layers_view} .node[data-row='{row}'] .heat",
                                           "el => el.style.fillOpacity"))
    params = [row["params"] for row in doc["layers"]]
    page.select_option("#shade", "params")
    top = params.index(max(params))
    assert opacity(top) == pytest.approx(0.9) and opacity(0) == pytest.approx(0.9 * params[0] / max(params), abs=1e-3)
    assert page.text_content("#shade-max") == f"{max(params):,}"

    # tooltip: the node's row, figures as in the table
    page.locator(f"{layers_view} .node[data-row='{top}']").scroll_into_view_if_needed()
    page.hover(f"{layers_view} .node[data-row='{top}']")
    tip = page.locator("#tip")
    assert tip.is_visible()
    assert doc["layers"][top]["name"] in tip.inner_text() and f"{params[top]:,}" in tip.inner_text()

    # the blocks view: one node per block instance
    page.click(".views button[data-view=blocks]")
    assert page.locator("svg.graph[data-view=blocks]").is_visible() and not page.locator(layers_view).is_visible()
    assert page.locator("svg.graph[data-view=blocks] .node.block").count() == len(
        {row["block"] for row in doc["layers"] if "block" in row})
    # clicking a block's node picks the rows of its layers, as a layer's node picks its row
    picked = "#layers tbody tr.picked"
    page.click("svg.graph[data-view=blocks] .node.block[data-block='1']")
    members = [str(i) for i, row in enumerate(doc["layers"]) if row.get("block", "").split("/")[0] == "layer1_1"]
    assert len(members) > 1
    assert page.eval_on_selector_all(picked, "rows => rows.map(r => r.dataset.i)") == members
    page.click("svg.graph[data-view=blocks] .node.layer >> nth=0")  # a loose layer's node: its one row instead
    loose = next(i for i, row in enumerate(doc["layers"]) if "block" not in row)
    assert page.eval_on_selector_all(picked, "rows => rows.map(r => r.dataset.i)") == [str(loose)]
    page.screenshot(path=str(tmp_path / "resnet50.png"))
    assert (tmp_path / "resnet50.png").stat().st_size > 10_000
    assert errors == []
    page.close()


def test_a_training_page_shades_by_the_training_columns(browser, tmp_path):
    path, doc = made(tmp_path, RESNET50, "--training", "--batch", "8", "--optimizer", "adam")
    page, errors = opened(browser, path)
    options = page.eval_on_selector_all("#shade option", "options => options.map(o => o.value)")
    assert options == doc["columns"] and {"backward_macs", "training_macs", "optimizer_state"} <= set(options)
    training = [row["training_macs"] for row in doc["layers"]]
    page.select_option("#shade", "training_macs")
    assert page.text_content("#shade-max") == f"{max(training):,}"
    page.click("#layers th[data-col=training_macs]")
    assert column(page, "training_macs") == sorted(training, reverse=True)
    assert errors == []
    page.close()


def test_naive_inception_in_dark_mode(browser, tmp_path):
    path, doc = made(tmp_path, NAIVE)
    page, errors = opened(browser, path, "dark")
    assert page.locator("svg.graph .node.layer").count() == len(doc["layers"]) == 5
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in background[background.index("(") + 1:-1].split(",")[:3])
    assert red + green + blue < 120, background  # dark page, and the text light on it
    text = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert sum(int(v) for v in text[text.index("(") + 1:-1].split(",")[:3]) > 600, text
    page.screenshot(path=str(tmp_path / "naive-dark.png"), full_page=True)
    assert errors == []
    page.close()
