#!/usr/bin/env bash
# make demo: the sandbox with demo data, and QGIS in a throwaway profile already pointed at it, dock open.
# With a display QGIS opens normally; without one it runs under Xvfb and saves a screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8765}"
DEMO_DIR="$(pwd)/.demo"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"

# The sandbox is standard library only; any python3 runs it.
python3 -m sandbox --port "$PORT" --demo --db "$DEMO_DIR/sandbox.db" > "$DEMO_DIR/sandbox.log" 2>&1 &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 150); do
    grep -q "^Sandbox listening on " "$DEMO_DIR/sandbox.log" && break
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
        echo "The sandbox did not start (is port $PORT taken? try: make demo PORT=8766):" >&2
        cat "$DEMO_DIR/sandbox.log" >&2
        exit 1
    fi
    sleep 0.2
done
grep "^Sandbox listening on " "$DEMO_DIR/sandbox.log" || { echo "The sandbox did not report ready" >&2; exit 1; }

/usr/bin/python3 scripts/package.py profile --profiles-path "$DEMO_DIR/profiles" --profile demo --sandbox-port "$PORT" >/dev/null
qgis_args=(--profiles-path "$DEMO_DIR/profiles" --profile demo --nologo --noversioncheck --code scripts/demo_startup.py)
export ST_SCREENSHOT="$DEMO_DIR/satellite_tasking_demo.png"
# The widget tests' offscreen platform would make the desktop invisible.
unset QT_QPA_PLATFORM

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${HEADLESS:-0}" != 1 ]; then
    echo "Starting QGIS (profile in $DEMO_DIR/profiles); close it to stop the sandbox."
    qgis "${qgis_args[@]}"
else
    echo "No display: running the ordering workflow (scripts/demo_workflow.py) in QGIS under Xvfb."
    ST_DEMO_HEADLESS=1 timeout 300 xvfb-run -a -s "-screen 0 1920x1080x24" \
        qgis "${qgis_args[@]/scripts\/demo_startup.py/scripts/demo_workflow.py}" \
        > "$DEMO_DIR/qgis.log" 2>&1 || { cat "$DEMO_DIR/demo_outputs.txt" 2>/dev/null; echo "QGIS failed, see $DEMO_DIR/qgis.log" >&2; exit 1; }
    cat "$DEMO_DIR/demo_outputs.txt"
    [ -s "$ST_SCREENSHOT" ] || { echo "QGIS did not save a screenshot, see $DEMO_DIR/qgis.log" >&2; exit 1; }
    echo "Screenshot: $ST_SCREENSHOT"
    # The user guide (resources/help/index.html) shows these: refresh them from this run.
    for name in aoi new_order_panel orders_tab orders_map settings bulk_preview bulk_order bulk_edit order_imagery archive_imagery; do
        cp "$DEMO_DIR/demo_$name.png" "resources/help/$name.png"
    done
    echo "The user guide's screenshots in resources/help/ are refreshed from this run."
fi
