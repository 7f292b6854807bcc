#!/usr/bin/env bash
# Makes .venv from the Python QGIS uses and installs requirements-dev.txt, rebuilding only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

SYS_PYTHON=/usr/bin/python3
VENV=.venv
STAMP="$VENV/.requirements-dev.sha256"
want="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"

# True when the venv was made from the system Python, sees QGIS and shadows nothing
# QGIS ships: `requests` must come from Debian's dist-packages, as it does inside QGIS itself.
usable() {
    [ -x "$VENV/bin/python" ] && grep -qx "home = /usr/bin" "$VENV/pyvenv.cfg" \
        && grep -qx "include-system-site-packages = true" "$VENV/pyvenv.cfg" \
        && "$VENV/bin/python" - <<'PY'
import sys

import qgis.core  # noqa: F401
import requests

sys.exit(0 if requests.__file__.startswith("/usr/lib/python3/dist-packages/") else 1)
PY
}

[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && usable 2>/dev/null && exit 0

# Anything else (no venv, old requirements, a hand-made venv with shadowing packages): start clean,
# because uninstalling piecemeal can leave stray packages behind.
echo "(Re)building $VENV from $SYS_PYTHON"
rm -rf "$VENV"
"$SYS_PYTHON" -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps -r requirements-dev.txt
if ! usable; then
    echo "The new $VENV is not usable: it must import qgis.core and Debian's requests." >&2
    "$VENV/bin/python" -c "import requests; print('requests from', requests.__file__)" >&2 || true
    exit 1
fi
echo "$want" > "$STAMP"
