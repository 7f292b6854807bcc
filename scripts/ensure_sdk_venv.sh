#!/usr/bin/env bash
# Makes .venv-planet-sdk (Planet's `planet` SDK, requirements-sdk.txt) for the sandbox's SDK check, rebuilding only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

SYS_PYTHON=/usr/bin/python3
VENV=.venv-planet-sdk
STAMP="$VENV/.requirements-sdk.sha256"
want="$(sha256sum requirements-sdk.txt | cut -d' ' -f1)"

[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import planet" 2>/dev/null && exit 0

echo "(Re)building $VENV from $SYS_PYTHON"
rm -rf "$VENV"
"$SYS_PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps -r requirements-sdk.txt
"$VENV/bin/python" -c "import planet; print('planet', planet.__version__, 'in $VENV')"
echo "$want" > "$STAMP"
