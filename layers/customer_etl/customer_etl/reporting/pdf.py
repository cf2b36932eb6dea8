"""A report as PDF, printed by headless Chromium (locally only: the Lambda has no browser).

Chromium rather than a Python PDF library: it draws the same HTML and inline SVG that a
reader opens, charts included, where WeasyPrint or xhtml2pdf would need system libraries
of their own and render SVG differently.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from customer_etl.core.errors import CustomerEtlError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_FLAGS = (
    "--headless",
    # Chromium's sandbox refuses to start as root (CI, containers); the page is our own file.
    "--no-sandbox",
    "--disable-gpu",
    # Nothing but the file: no update checks, sync or background requests.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_SECONDS = 120


class ChromiumNotFoundError(CustomerEtlError):
    """PDF output needs Chromium on the PATH."""


class PdfRenderError(CustomerEtlError):
    """Chromium ran but did not produce a PDF."""


def find_chromium() -> str:
    """The path of a Chromium (or Chrome) executable."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFoundError(
        "PDF output needs Chromium, which was not found on the PATH: install it "
        "(Debian: `apt-get install chromium`, or run scripts/install-chromium.sh as root), "
        "or ask for --format html"
    )


def headless_command(chromium: str, profile: Path, *arguments: str) -> list[str]:
    """A headless Chromium command line with a throwaway profile folder."""
    return [chromium, *HEADLESS_FLAGS, f"--user-data-dir={profile}", *arguments]


def html_to_pdf(html: str, target: Path) -> Path:
    """Print `html` to `target` as PDF; raise when Chromium is missing or fails."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="customer-etl-pdf-") as scratch:
        folder = Path(scratch)
        page = folder / "report.html"
        page.write_text(html, encoding="utf-8")
        printed = folder / "report.pdf"
        command = headless_command(
            chromium,
            folder / "profile",
            f"--print-to-pdf={printed}",
            "--no-pdf-header-footer",
            page.as_uri(),
        )
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            raise PdfRenderError(
                f"Chromium could not print the report ({type(error).__name__}): "
                f"run `{chromium} --headless --version` to check the browser"
            ) from None
        if not printed.is_file() or not printed.read_bytes().startswith(b"%PDF"):
            raise PdfRenderError("Chromium ended without writing a PDF: check its version")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(printed, target)
    return target
