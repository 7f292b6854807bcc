"""Delivered archive imagery in QGIS: each kind styled so it shows a picture, footprints, metadata, groups per order."""

from __future__ import annotations

import json

import pytest
from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsMultiBandColorRenderer, QgsVectorLayer
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

from core import rasters
from core.services.planet_orders.client import OrdersClient
from core.services.planet_orders.forms import basemap_request, scenes_request

ITEM_A = "20220304_093300_37_2430"


@pytest.fixture
def orders(sandbox):
    client = OrdersClient(sandbox.root + "/compute/ops/orders/v2/", sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)
    yield client
    client.close()


def _delivered(orders, request, folder):
    done = orders.wait_for(orders.create_order(request), poll=30.0, max_poll=60.0)
    return done, orders.download_results(done, folder)


def _load(project, order, report):
    imagery = rasters.plan_order_imagery(order.id, order.name, report.files, order.products)
    return imagery, rasters.add_order_imagery(project, imagery)


def _bands(layer):
    renderer = layer.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer)
    return renderer.redBand(), renderer.greenBand(), renderer.blueBand()


def _distinct_colours(layer, size=48):
    """How many colours the layer draws with over its extent: a picture has many, a blank or black one one."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    return len({image.pixel(x, y) for x in range(0, size, 3) for y in range(0, size, 3)})


def test_each_kind_of_imagery_is_styled_to_show_a_picture(sandbox, orders, project, qgis_iface, tmp_path):
    visual_order, visual_report = _delivered(orders, scenes_request("visual", [ITEM_A], product_bundle="visual"),
                                             tmp_path)
    eight_order, eight_report = _delivered(orders, scenes_request("eight bands", [ITEM_A],
                                                                  product_bundle="analytic_8b_udm2"), tmp_path)
    quads_order, quads_report = _delivered(orders, basemap_request("quads", "global_monthly_2022_01_mosaic",
                                                                   quad_ids=["1050-1374"]), tmp_path)
    _, (visual,) = _load(project, visual_order, visual_report)
    _, (eight, eight_mask) = _load(project, eight_order, eight_report)
    quads_imagery, (quad,) = _load(project, quads_order, quads_report)

    assert visual.bandCount() == 3 and _bands(visual) == (1, 2, 3)
    assert visual.renderer().redContrastEnhancement() is None  # visual imagery is shown as delivered
    assert eight.bandCount() == 8 and _bands(eight) == (6, 4, 2)  # red, green, blue of the 8-band order
    assert eight.renderer().blueContrastEnhancement().maximumValue() > 0
    assert eight_mask.bandCount() == 8 and eight_mask.renderer().type() == "singlebandgray"
    assert quad.bandCount() == 4 and _bands(quad) == (1, 2, 3)  # an 8-bit quad is RGB (and alpha)
    assert quads_imagery.rasters[0].item_type == "global_monthly_2022_01_mosaic"
    assert quads_imagery.rasters[0].item_id == "1050-1374"
    for layer in (visual, eight, quad):
        assert _distinct_colours(layer) > 8, layer.name()

    # One group per order under "Archive imagery", the newest on top, each with its footprints first.
    archive = project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP)
    assert project.layerTreeRoot().children()[0] is archive
    assert [g.name() for g in archive.children()] == ["quads", "eight bands", "visual"]
    for group in archive.children():
        assert isinstance(group.children()[0].layer(), QgsVectorLayer)
        assert group.children()[0].layer().name() == rasters.FOOTPRINTS_LAYER


def test_footprints_name_the_item_its_acquisition_and_its_metadata_file(sandbox, orders, project, qgis_iface,
                                                                        tmp_path):
    order, report = _delivered(orders, scenes_request("acquired", [ITEM_A], product_bundle="analytic_udm2"),
                               tmp_path)
    metadata = next(p for p in report.files if p.name.endswith("_metadata.json"))
    # Planet's metadata says when the scene was taken (the sandbox's leaves it out).
    document = json.loads(metadata.read_text())
    document["properties"]["acquired"] = "2022-03-04T09:33:00.37Z"
    metadata.write_text(json.dumps(document))
    imagery, layers = _load(project, order, report)
    footprints = rasters.order_group(project, order.id).children()[0].layer()
    features = {f["file"]: f for f in footprints.getFeatures()}
    assert sorted(features) == sorted(layer.source() for layer in layers)
    assert {f["acquired"] for f in features.values()} == {"2022-03-04T09:33:00.37Z"}
    assert {f["metadata"] for f in features.values()} == {str(metadata)}
    assert {f["asset"] for f in features.values()} == {"AnalyticMS", "udm2"}
    assert imagery.footprints_path == str(tmp_path / order.id / rasters.FOOTPRINTS_FILE)
    for layer in layers:
        assert features[layer.source()].geometry().boundingBox().buffered(1e-9).contains(layer.extent())


def test_two_orders_of_one_name_get_groups_of_their_own_and_a_reload_adds_nothing(sandbox, orders, project,
                                                                                  qgis_iface, tmp_path):
    first, first_report = _delivered(orders, scenes_request("same name", [ITEM_A], product_bundle="visual"),
                                     tmp_path)
    second, second_report = _delivered(orders, scenes_request("same name", [ITEM_A], product_bundle="visual"),
                                       tmp_path)
    _, first_layers = _load(project, first, first_report)
    _, second_layers = _load(project, second, second_report)
    archive = project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP)
    assert [g.name() for g in archive.children()] == [f"same name ({second.id[:8]})", "same name"]
    count = len(project.mapLayers())
    _, again = _load(project, first, first_report)
    assert [layer.id() for layer in again] == [layer.id() for layer in first_layers]
    assert len(project.mapLayers()) == count and len(archive.children()) == 2
    assert rasters.order_layers(project, second.id) == second_layers


@pytest.mark.parametrize("single_archive", [False, True])
def test_zipped_deliveries_are_read_in_place(sandbox, orders, project, qgis_iface, tmp_path, single_archive):
    order, report = _delivered(orders, scenes_request("zipped", [ITEM_A], product_bundle="analytic_udm2",
                                                      zip_archive=True, single_archive=single_archive), tmp_path)
    assert {p.suffix for p in report.files} == {".zip", ".json"}  # the manifest beside the zip
    imagery, layers = _load(project, order, report)
    assert sorted(layer.bandCount() for layer in layers) == [4, 8]
    analytic = next(layer for layer in layers if layer.bandCount() == 4)
    assert analytic.source().startswith("/vsizip/" + str(tmp_path / order.id)) and _bands(analytic) == (3, 2, 1)
    assert _distinct_colours(analytic) > 8
    assert {p.item_id for p in imagery.rasters} == {ITEM_A}
    assert all(p.metadata_path and p.metadata_path.endswith(f"{ITEM_A}_metadata.json") for p in imagery.rasters)
    assert imagery.footprints_path == str(tmp_path / order.id / rasters.FOOTPRINTS_FILE)
