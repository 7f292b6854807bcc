#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages QGIS tests need, only those missing, so a second run does nothing.
set -euo pipefail

# python3-qgis/qgis-providers: PyQGIS for the unit and widget tests; qgis: the desktop binary for the
# real load test and the demo; xvfb + xauth: a virtual display for it; python3-venv: the test venv.
PACKAGES=(python3-qgis qgis-providers qgis xvfb xauth python3-venv)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
else
    missing=("${PACKAGES[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

explain() {
    echo "Missing system packages: ${missing[*]}" >&2
    echo "$1" >&2
    echo "Install them (Debian 12 / Ubuntu), then run make again:" >&2
    echo "    sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || explain "This machine has no apt-get, so they cannot be installed automatically."
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    explain "Installing needs root (or password-less sudo)."
fi

echo "Installing system packages: ${missing[*]}"
# No stdin in CI: never let apt or debconf ask a question.
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# Recommends would add GRASS and friends (hundreds of MB) that nothing here uses.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
