"""Order archive imagery through the real `qgis_process` binary: a published capture's file in, the clipped
GeoTIFF and footprints out, the sandbox from the profile's settings; a second run orders nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import QgsCoordinateTransformContext, QgsRasterLayer, QgsVectorFileWriter, QgsVectorLayer

from core.services.planet_tasking.layers import create_captures_layer
from tests.integration.planet_orders.helpers import published_tasking_order
from tests.processing.test_archive_imagery import archive_posts
from tests.processing.test_qgis_process import (  # noqa: F401 - profile: a fixture
    BINARY,
    clock_running,
    json_answer,
    killed_while_following,
    profile,
    qgis_process,
)

pytestmark = pytest.mark.skipif(BINARY is None, reason="qgis_process is not installed")


def test_qgis_process_orders_a_published_capture_file_once_and_leaves_its_clipped_imagery(profile, sandbox,  # noqa: F811
                                                                                          factory, tmp_path):
    client = factory()
    order = published_tasking_order(sandbox, client, "headless archive")
    captures = list(client.iter_captures(order.id))
    source = tmp_path / "captures.gpkg"
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    written = QgsVectorFileWriter.writeAsVectorFormatV3(create_captures_layer(captures=captures), str(source),
                                                        QgsCoordinateTransformContext(), options)
    assert written[0] == QgsVectorFileWriter.WriterError.NoError, written

    helped = qgis_process(profile, "help", "satellite_tasking:order_archive_imagery")
    assert helped.returncode == 0 and "never placed twice" in helped.stdout and "Example" in helped.stdout

    folder = tmp_path / "imagery"
    arguments = ["--json", "run", "satellite_tasking:order_archive_imagery", "--", f"CAPTURES={source}", "CLIP=1",
                 "PRODUCT_BUNDLE=visual", f"OUTPUT_FOLDER={folder}"]
    with clock_running(sandbox):  # the order runs while qgis_process follows it
        first = qgis_process(profile, *arguments)
        second = qgis_process(profile, *arguments)
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    results, again = json_answer(first.stdout)["results"], json_answer(second.stdout)["results"]
    assert len(archive_posts(sandbox)) == 1 and again["ORDER_ID"] == results["ORDER_ID"]
    assert results["ORDER_STATE"] in ("success", "partial")
    rasters = [Path(p) for p in results["RASTERS"]]
    assert rasters and all(p.is_file() and str(p).startswith(str(folder)) for p in rasters)
    for path in rasters:
        assert QgsRasterLayer(str(path), "r").bandCount() == 3
    footprints = QgsVectorLayer(results["FOOTPRINTS"], "footprints", "ogr")
    assert footprints.isValid() and footprints.featureCount() == len(rasters)


def test_a_qgis_process_killed_while_following_the_order_is_followed_by_the_rerun_not_ordered_again(
        profile, sandbox, factory, tmp_path):  # noqa: F811 - the profile fixture
    import signal

    client = factory()
    order = published_tasking_order(sandbox, client, "killed archive")
    strip = next(c.strip_id for c in client.iter_captures(order.id) if c.status == "PUBLISHED")
    folder = tmp_path / "imagery"
    arguments = ["run", "satellite_tasking:order_archive_imagery", "--", f"ITEM_IDS={strip}",
                 f"OUTPUT_FOLDER={folder}"]
    # The clock stands still: the order stays queued while the first run follows it.
    first = killed_while_following([BINARY, *arguments], profile, lambda: archive_posts(sandbox), "not sent")
    assert first.returncode == -signal.SIGKILL and not list(folder.rglob("*.tif"))

    with clock_running(sandbox):
        second = qgis_process(profile, "--json", *arguments)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(archive_posts(sandbox)) == 1
    results = json_answer(second.stdout)["results"]
    assert results["ORDER_STATE"] == "success" and all(Path(p).is_file() for p in results["RASTERS"])
