#!/usr/bin/env python3
"""Screenshot a report with headless Chromium: `python scripts/screenshot_report.py REPORT.html OUT.png`.

Uses /usr/bin/chromium or the first of chromium / chromium-browser / google-chrome on PATH.
A throwaway profile directory, no network services, no sandbox (works as root in CI).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def screenshot(report: Path, out: Path, width: int = 1400, height: int = 4000, timeout: float = 120.0) -> Path:
    """Render `report` headlessly into the PNG `out`; raises RuntimeError with Chromium's output on failure."""
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no Chromium found (/usr/bin/chromium or chromium on PATH)")
    report = Path(report).resolve()
    if not report.is_file():
        raise FileNotFoundError(f"{report}: no such report")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="climb-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={out}", report.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium exited {done.returncode} without writing {out}: {done.stderr[-2000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report.html")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args(argv)
    try:
        path = screenshot(args.report, args.out, args.width, args.height)
    except (RuntimeError, FileNotFoundError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
