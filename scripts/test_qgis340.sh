#!/usr/bin/env bash
# make test-qgis340: the whole suite on QGIS 3.40 LTR (Python 3.13) in the Debian 13 root, on a copy of this tree.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure_qgis340_root.sh
ROOT="${QGIS340_ROOT:-/var/cache/satellite-tasking/debian13-qgis340}"
# shellcheck source=scripts/qgis340_mounts.sh
. scripts/qgis340_mounts.sh

# A copy, not the tree itself: the run writes its own QGIS profile (.qgis-settings), test-output and caches,
# which must not mix with those of the host's QGIS 3.22 run. One copy per run, so that runs may overlap.
RUN="/srv/runs/$$"
WORK="$ROOT$RUN/plugin"
rm -rf "$ROOT$RUN"
mkdir -p "$WORK"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$WORK" -xf -
# A repository of its own, as the tree is one (the packaging tests ask git what belongs to the plugin).
git -C "$WORK" init -q
git -C "$WORK" add -A
git -C "$WORK" -c user.name=test -c user.email=test@localhost commit -q -m "the tree under test"
# The API documents some tests read sit beside the repository, as here.
if [ -d ../shared/api-docs ]; then
    mkdir -p "$ROOT$RUN/shared"
    cp -r ../shared/api-docs "$ROOT$RUN/shared/"
fi

# The kernel file systems are shared by overlapping runs: the last run to end unmounts them.
finish() {
    rm -rf "${ROOT:?}$RUN"
    (
        flock 9
        if [ -z "$(ls -A "$ROOT/srv/runs" 2>/dev/null)" ]; then unmount_all "$ROOT"; fi
    ) 9>"$ROOT/srv/.mounts.lock"
}
trap finish EXIT
( flock 9; mount_all "$ROOT" ) 9>"$ROOT/srv/.mounts.lock"
echo "Testing on $(chroot "$ROOT" dpkg-query -W -f='QGIS ${Version}' qgis-providers), $(chroot "$ROOT" python3 --version)"
chroot "$ROOT" env -i PATH=/opt/venv/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    CI="${CI:-}" /bin/sh -c 'cd "$0" && python -m pytest tests -ra --timeout=600 -p no:cacheprovider "$@"' \
    "$RUN/plugin" "$@"
