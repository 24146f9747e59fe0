"""The documentation site, tested as a reader would see it: pages opened in headless Chromium,
a screenshot of the main page, and a link check of every page and image.

Needs the site built first (the CTest test docs.site depends on docs.doxygen, which builds it):
    cmake --build build --target docs
    /usr/bin/python3 -m pytest tests/docs --build-dir=build
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import tempfile

import pytest

from chapter import stages

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic"]
# Every stage (the registry's), each with its guide.
STAGES = [d.directory for d in stages.descriptions()]


@pytest.fixture(scope="module")
def site(request) -> pathlib.Path:
    html = pathlib.Path(request.config.getoption("build_dir")).resolve() / "docs" / "html"
    assert (html / "index.html").exists(), f"{html} is not built: cmake --build . --target docs"
    return html


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    assert browser, "chromium is not installed (scripts/install-deps installs it)"
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile every time
        return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def dom(page: pathlib.Path) -> str:
    result = chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_main_page_renders_with_the_overview_and_the_two_commands(site):
    html = dom(site / "index.html")
    assert "Chapter 1 of the libevent book" in html
    assert "overview.svg" in html  # the figure of the stages
    assert "scripts/tour" in html and "scripts/test" in html


def assert_screenshot(page: pathlib.Path, shot: pathlib.Path, window: str, least_bytes: int):
    """Chromium takes a PNG screenshot of `page` in a `window` ("1280,1600") of that size, of at
    least `least_bytes`: a drawn page, not a blank one."""
    shot.unlink(missing_ok=True)
    result = chromium(f"--window-size={window}", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists(), f"Chromium wrote no {shot.name}"
    assert shot.stat().st_size > least_bytes, f"{shot.name}: {shot.stat().st_size} bytes"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshot_of_the_main_page_is_taken(site):
    assert_screenshot(site / "index.html", site.parent / "screenshot-main.png", "1280,1600",
                      20_000)


def test_side_by_side_timelines_page_renders(site):
    """scripts/trace's page (docs/traces/side-by-side.html): every stage's timeline drawn, on
    one time axis, in a real browser."""
    page = site / "traces" / "side-by-side.html"
    assert page.exists(), "the site has no traces/side-by-side.html (scripts/docs-site copies it)"
    html = dom(page)
    traced = [d.key for d in stages.servers() if d.has("trace")]
    assert "Who waits where" in html and html.count("<svg") >= len(traced)  # one picture each
    assert all(f'id="stage-{key}"' in html for key in traced)
    assert_screenshot(page, site.parent / "screenshot-timelines.png", "1400,2400", 50_000)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("stage_dir", STAGES)
def test_every_stage_guide_renders_with_its_diagram(site, stage_dir, lang):
    suffix = "" if lang == "en" else "_zh_CN"
    page = site / f"md_{stage_dir.replace('-', '_')}_README{suffix}.html"
    assert page.exists(), sorted(p.name for p in site.glob("md_*"))
    html = dom(page)
    assert stage_dir in html
    assert f"io-{stage_dir.split('-', 1)[0]}.svg" in html  # io-02.svg, io-02b.svg
    if stages.find(stage_dir).has("trace"):  # a server: its timeline (scripts/trace) too
        assert f"trace-{stage_dir.split('-', 1)[0]}.svg" in html
    if lang == "zh-CN":
        assert "阶段" in html or "服务器" in html or "客户端" in html  # the Chinese text itself


def test_no_broken_internal_link_and_no_missing_image(site):
    linkchecker = shutil.which("linkchecker")
    assert linkchecker, "linkchecker is not installed (scripts/install-deps installs it)"
    # Recursive over every local page; external links are not followed (no network here).
    result = subprocess.run([linkchecker, "--no-status", "--no-warnings",
                             (site / "index.html").as_uri()],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
