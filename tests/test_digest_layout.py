"""Digest layout in a real browser: Debian's headless Chromium renders the rich digest from
a local file at phone and desktop widths, and the page must not scroll sideways."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image as PillowImage

from bot.digest.render import render_digest, render_report_html
from tests.test_digest_render import representativeness_report, rich_digest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_TIMEOUT_SECONDS = 120
PHONE = (390, 844)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium")

# Appended to a copy of the page: once everything has loaded, it sends its parent whether
# the page fits the window and every image decoded, and which elements stick out.
CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.prototype.slice.call(document.images);
  var wide = Array.prototype.slice.call(document.body.querySelectorAll("*")).filter(function (element) {
    return element.getBoundingClientRect().right > window.innerWidth + 0.5;
  }).map(function (element) { return element.tagName + "." + element.className; });
  parent.postMessage({
    "fits": String(root.scrollWidth <= window.innerWidth),
    "scroll-width": String(root.scrollWidth),
    "inner-width": String(window.innerWidth),
    "images": String(images.length),
    "images-decoded": String(images.every(function (image) { return image.naturalWidth > 0; })),
    "too-wide": wide.slice(0, 5).join(" ")
  }, "*");
});
</script>
"""
# Headless Chromium 156 lays out a --dump-dom page at least 500 px wide, even with a smaller
# --window-size, so the checked copy is loaded in a frame of the exact width, and the
# frame's report is written onto the outer page's <html> for --dump-dom to show.
FRAME_PAGE = """<!DOCTYPE html>
<html><body style="margin:0">
<iframe src="{source}" style="border:0;width:{width}px;height:{height}px"></iframe>
<script>
window.addEventListener("message", function (event) {{
  Object.keys(event.data).forEach(function (name) {{
    document.documentElement.setAttribute("data-" + name, event.data[name]);
  }});
}});
</script>
</body></html>
"""


def chromium(profile: Path, width: int, height: int, *arguments: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on a local page with a fresh profile and networking features off."""
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={width},{height}", *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def write_digest(directory: Path) -> Path:
    """Write the rich Dutch digest as an HTML file with its charts as files beside it."""
    rendered = render_digest(rich_digest("nl"), image_src=lambda image: image.filename)
    for image in rendered.images:
        (directory / image.filename).write_bytes(image.data)
    page = directory / "digest.html"
    page.write_text(rendered.html, encoding="utf-8")
    return page


def measure(page: Path, profile: Path, width: int) -> dict[str, str]:
    """Load a copy of ``page`` with CHECK_SCRIPT in a frame ``width`` px wide and return what it recorded."""
    checked = page.with_name(f"checked-{page.name}")
    checked.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    frame = page.with_name(f"frame-{width}-{page.name}")
    frame.write_text(FRAME_PAGE.format(source=checked.name, width=width, height=PHONE[1]), encoding="utf-8")
    # The virtual time budget lets the load handlers and the message run before the DOM is dumped.
    dom = chromium(profile, max(width, PHONE[0]), PHONE[1], "--virtual-time-budget=10000", "--dump-dom", frame.as_uri()).stdout
    root = re.search(r"<html[^>]*>", dom)
    assert root is not None, dom[:500]
    recorded = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', root.group(0)))
    assert recorded, f"the checked page sent no report: {root.group(0)}"
    return recorded


@pytest.fixture
def digest_page(tmp_path) -> Path:
    return write_digest(tmp_path)


def test_phone_screenshot_not_blank(digest_page, tmp_path):
    screenshot = tmp_path / "phone.png"
    chromium(tmp_path / "profile", *PHONE, f"--screenshot={screenshot}", digest_page.as_uri())

    assert screenshot.is_file()
    with PillowImage.open(screenshot) as image:
        assert image.size == PHONE
        grey = image.convert("L")
        darkest, lightest = grey.getextrema()
        assert lightest - darkest > 150
        assert len(grey.getcolors(maxcolors=256 * 256) or []) > 20


@pytest.mark.parametrize("width", [360, 390, 1280])
def test_digest_fits_width(digest_page, tmp_path, width):
    recorded = measure(digest_page, tmp_path / "profile", width)

    assert recorded["inner-width"] == str(width)
    assert recorded["fits"] == "true", f"scroll width {recorded['scroll-width']}; too wide: {recorded['too-wide']}"
    assert recorded["images"] == "5"
    assert recorded["images-decoded"] == "true"


def test_report_page_fits_phone(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_report_html(representativeness_report(), locale="nl", panel_name="Haags Bewonerspanel"), encoding="utf-8")

    recorded = measure(page, tmp_path / "profile", 360)

    assert recorded["fits"] == "true", f"scroll width {recorded['scroll-width']}; too wide: {recorded['too-wide']}"
    assert recorded["images"] == "0"
