#!/usr/bin/env bash
# Makes .venv-up42 (UP42's up42-py SDK, requirements-up42.txt) for the sandbox's UP42 check, rebuilding only when
# needed. up42-py needs Python 3.11+: with an older system Python it says so and makes nothing (the check is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

SYS_PYTHON=/usr/bin/python3
VENV=.venv-up42
STAMP="$VENV/.requirements-up42.sha256"
want="$(sha256sum requirements-up42.txt | cut -d' ' -f1)"

if ! "$SYS_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "$SYS_PYTHON is older than 3.11: no $VENV, the up42-py check of the sandbox will be skipped"
    exit 0
fi
check='import os; os.environ["UP42_DISABLE_VERSION_CHECK"] = "true"; import up42'
[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "$check" 2>/dev/null && exit 0

echo "(Re)building $VENV from $SYS_PYTHON"
rm -rf "$VENV"
"$SYS_PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps -r requirements-up42.txt
"$VENV/bin/python" -c "$check; print('up42-py', up42.__version__, 'in $VENV')"
# The venv is nobody's source: git, ruff and the tree scans of the tests leave it alone.
echo "*" > "$VENV/.gitignore"
echo "$want" > "$STAMP"
