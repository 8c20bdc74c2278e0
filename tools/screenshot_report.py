# SPDX-License-Identifier: GPL-3.0-or-later
"""Render CIS audit reports and screenshot them in a real browser (headless Chromium).

For looking at the HTML reports the way a reader will, e.g. after capturing audits
from real hosts. Not part of the test suite.

  python3 tools/screenshot_report.py AUDIT.json [AUDIT.json ...] --out DIR
      writes DIR/<host>.html for every audit, DIR/fleet.html for all of them,
      and a PNG of each next to it (DIR/<host>.png, DIR/fleet.png)
  python3 tools/screenshot_report.py PAGE.html --out DIR
      screenshots an existing page
  --pdf       also print every page to <name>.pdf, as a reader's "Print" would
  --pages N   also PNGs of the next N-1 screens of every page (<name>-2.png, ...):
              headless Chromium shoots only the top of a page and ignores #fragments,
              so each further screen is shot through a wrapper page whose iframe is
              shifted up by one viewport height

An AUDIT.json holds the `audit` value of dockguard.hardening.cis_audit (or the whole
registered result), or a list of them. Needs Debian's chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def load_report_module() -> types.ModuleType:
    """plugins/plugin_utils/_cis_report.py by path: it is stdlib only, no collection set-up needed."""
    path = ROOT / "plugins" / "plugin_utils" / "_cis_report.py"
    spec = importlib.util.spec_from_file_location("_cis_report", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no chromium found: apt-get install -y chromium")


def screenshot(browser: str, page: pathlib.Path, png: pathlib.Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dockguard-chromium-") as profile:
        argv = [
            browser,
            *BROWSER_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not png.exists():
        raise SystemExit(f"chromium failed on {page} (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"{png}  ({png.stat().st_size} bytes)")


def print_pdf(browser: str, page: pathlib.Path, pdf: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory(prefix="dockguard-chromium-") as profile:
        argv = [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer"]
        argv += [f"--print-to-pdf={pdf}", page.resolve().as_uri()]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not pdf.exists():
        raise SystemExit(f"chromium could not print {page} (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"{pdf}  ({pdf.stat().st_size} bytes)")


def screenshot_pages(browser: str, page: pathlib.Path, out: pathlib.Path, width: int, height: int, pages: int) -> None:
    screenshot(browser, page, out / f"{page.stem}.png", width, height)
    for number in range(2, pages + 1):
        wrapper = out / f".{page.stem}-{number}.wrapper.html"
        wrapper.write_text(
            '<!DOCTYPE html><html><body style="margin:0;overflow:hidden">'
            f'<div style="height:{height}px;overflow:hidden"><iframe src="{page.resolve().as_uri()}" scrolling="no" '
            f'style="border:0;width:{width}px;height:{height * pages}px;margin-top:-{height * (number - 1)}px">'
            "</iframe></div></body></html>",
            encoding="utf-8",
        )
        try:
            screenshot(browser, wrapper, out / f"{page.stem}-{number}.png", width, height)
        finally:
            wrapper.unlink()


def load_audits(paths: list[pathlib.Path]) -> list[object]:
    audits: list[object] = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        audits.extend(data if isinstance(data, list) else [data])
    return audits


def render(report: types.ModuleType, audits: list[object], out: pathlib.Path) -> list[pathlib.Path]:
    pages = []
    for audit in report.as_audits(audits):
        page = out / report.report_filename(audit["host"])
        page.write_text(report.to_html(audit), encoding="utf-8")
        pages.append(page)
    fleet = out / "fleet.html"
    fleet.write_text(report.fleet_html(audits), encoding="utf-8")
    return [*pages, fleet]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=pathlib.Path, help="audit JSON files, or HTML pages")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="directory for the HTML and PNG files")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1800, help="viewport height: the PNG shows this much")
    parser.add_argument("--pages", type=int, default=1, help="screens per page to shoot, top down")
    parser.add_argument("--pdf", action="store_true", help="also print each page to PDF")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    html_inputs = [p for p in args.inputs if p.suffix in (".html", ".htm")]
    json_inputs = [p for p in args.inputs if p not in html_inputs]
    pages = list(html_inputs)
    if json_inputs:
        pages += render(load_report_module(), load_audits(json_inputs), args.out)
    browser = find_browser()
    for page in pages:
        screenshot_pages(browser, page, args.out, args.width, args.height, max(1, args.pages))
        if args.pdf:
            print_pdf(browser, page, args.out / f"{page.stem}.pdf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
