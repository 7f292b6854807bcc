#!/usr/bin/env bash
# Makes (once) the Debian 13 root that `make test-qgis340` runs the suite in: QGIS 3.40 LTR, Python 3.13, Xvfb,
# and a venv of the pinned test tools. Kept between runs; rebuilt when missing or when what it must hold changes.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT="${QGIS340_ROOT:-/var/cache/satellite-tasking/debian13-qgis340}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
# The same packages `make test` installs on the host (scripts/ensure_system.sh), plus what a bare root lacks
# (make and git: the packaging tests build the ZIP as a user would).
PACKAGES=(python3-qgis qgis-providers qgis xvfb xauth python3-venv ca-certificates locales-all make git)
# What the root must hold: when this text changes (packages, pinned tools), the root is made again.
WANT="$SUITE ${PACKAGES[*]} $(sha256sum requirements-dev.txt | cut -c1-16)"
STAMP="$ROOT/.satellite-tasking-root"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Making the Debian 13 test root ($ROOT) needs root: debootstrap and chroot." >&2
    echo "Run 'sudo make test-qgis340' once; later runs reuse the root." >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    echo "Installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi

NEW="$ROOT.new"
# shellcheck source=scripts/qgis340_mounts.sh
. scripts/qgis340_mounts.sh
unmount_all "$NEW"
rm -rf "$NEW"
mkdir -p "$(dirname "$ROOT")"
echo "Making a Debian 13 root with QGIS 3.40 in $ROOT (once; a few minutes)"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$NEW" "$MIRROR" > "$NEW.log" 2>&1 \
    || { tail -20 "$NEW.log" >&2; echo "debootstrap failed; its log: $NEW.log" >&2; exit 1; }

# The host's certificate authorities, so the root's pip and apt reach the registries the host reaches (a
# TLS-inspecting proxy's CA included).
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$NEW/usr/local/share/ca-certificates/host-authorities.crt"
fi
cp /etc/resolv.conf "$NEW/etc/resolv.conf" 2>/dev/null || true
echo "deb $MIRROR $SUITE main" > "$NEW/etc/apt/sources.list"

trap 'unmount_all "$NEW"' EXIT
mount_all "$NEW"
in_root() { chroot "$NEW" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }
in_root update-ca-certificates > /dev/null
in_root apt-get update -q
# Recommends would add GRASS and friends (hundreds of MB) that nothing here uses.
in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
in_root apt-get clean

# The pinned test tools, as on the host (scripts/ensure_venv.sh): QGIS's own Python, its packages visible.
mkdir -p "$NEW/opt"
cp requirements-dev.txt "$NEW/opt/requirements-dev.txt"
in_root /usr/bin/python3 -m venv --system-site-packages /opt/venv
in_root env PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/venv/bin/pip install -q --no-deps \
    -r /opt/requirements-dev.txt
unmount_all "$NEW"
trap - EXIT

echo "$WANT" > "$NEW/.satellite-tasking-root"
rm -rf "$ROOT"
mv "$NEW" "$ROOT"
mv "$NEW.log" "$ROOT.debootstrap.log" 2>/dev/null || true
echo "Debian 13 test root ready: $(chroot "$ROOT" dpkg-query -W -f='QGIS ${Version}' qgis-providers), $(chroot "$ROOT" python3 --version)"
