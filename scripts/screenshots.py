"""Make the README's screenshots of `cnncalc report`: docs/report-resnet50.png and docs/report-inception-naive.png.

    pip install -e '.[test]'          # jinja2 and playwright
    apt-get install chromium          # the browser Playwright drives (never `playwright install`)
    python scripts/screenshots.py     # rewrites both files

Each report is made by the command line, exactly as a user makes it, and shot whole in headless Chromium, 1400
pixels wide.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = [("specs/zoo/resnet50.yaml", ["--input", "64:448:32"], "report-resnet50.png", "light", 900, 7),
         ("specs/inception_naive.yaml", [], "report-inception-naive.png", "dark", 1000, None)]
"""(spec, options, picture, colour scheme, window height, the layer whose tooltip shows); the whole page is shot."""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    from playwright.sync_api import sync_playwright
    chromium = shutil.which("chromium") or sys.exit("chromium is not installed: apt-get install chromium")
    (ROOT / "docs").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=chromium, args=FLAGS, headless=True,
            viewport={"width": 1400, "height": 1000})
        for spec, args, name, scheme, height, hover in SHOTS:
            html = Path(tmp) / (Path(spec).stem + ".html")
            subprocess.run([sys.executable, "-m", "cnncalc", "report", spec, "-o", str(html), *args], cwd=ROOT,
                           check=True)
            page = browser.new_page()
            page.emulate_media(color_scheme=scheme)
            page.set_viewport_size({"width": 1400, "height": height})
            page.goto(html.as_uri())
            if hover is not None:  # a tooltip in the picture
                page.locator(f"svg.graph[data-view=layers] .node[data-row='{hover}']").hover()
            page.screenshot(path=str(ROOT / "docs" / name), full_page=True)
            page.close()
            print(f"docs/{name}")
        browser.close()


if __name__ == "__main__":
    main()
