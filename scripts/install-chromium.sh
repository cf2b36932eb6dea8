#!/usr/bin/env bash
# Install Debian's Chromium, which the report tests (tests/e2e/test_reports_chromium.py) and
# `customer-etl report --format pdf` need, unless a Chromium is on the PATH already.
#
#     scripts/install-chromium.sh        # as root, or as a user with sudo
#
# `make test` (and so .ci/run) calls it before the tests; it does nothing when a Chromium is
# installed. `make dev` installs Python packages only and never asks for root.
set -euo pipefail

for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null; then
        exit 0
    fi
done
if ! command -v apt-get >/dev/null; then
    echo "install-chromium: no apt-get here: install Chromium with this system's package manager" >&2
    exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "install-chromium: run this as root (apt-get install chromium)" >&2
        exit 1
    fi
    as_root=(sudo)
fi
echo "install-chromium: installing Debian's chromium package" >&2
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
command -v chromium >/dev/null
