"""How a delivered GeoTIFF is planned for the map off the GUI thread: its stretch, footprint, and what it leaves."""

from __future__ import annotations

import random
import threading
from array import array

import pytest
from osgeo import gdal, osr
from qgis.core import QgsGeometry

from core import rasters

ITEM = "20220304_093300_37_2430"


def _write_scene(path, data_type, typecode, values_of_band, width=300, height=200, nodata=0):
    """A UTM 32N GeoTIFF 3 m pixels from (500000, 5100000), one list of values per band."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), width, height, len(values_of_band), data_type)
    dataset.SetGeoTransform((500000.0, 3.0, 0.0, 5100000.0, 0.0, -3.0))
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32632)
    dataset.SetProjection(utm.ExportToWkt())
    for number, values in enumerate(values_of_band, start=1):
        band = dataset.GetRasterBand(number)
        band.SetNoDataValue(nodata)
        band.WriteRaster(0, 0, width, height, array(typecode, values).tobytes())
    dataset = None


def _cut(values):
    """The 2nd and 98th percentiles of `values` as a person would work them out."""
    ordered = sorted(values)
    return ordered[round(0.02 * len(ordered))], ordered[round(0.98 * len(ordered)) - 1]


@pytest.mark.parametrize("data_type, typecode", [(gdal.GDT_UInt16, "H"), (gdal.GDT_Byte, "B")])
def test_analytic_imagery_is_stretched_to_its_own_2_to_98_percent_leaving_nodata_out(tmp_path, data_type, typecode):
    generator = random.Random(7)
    width, height = 300, 200
    top = 4000 if typecode == "H" else 250
    bands = []
    for offset in (0, top // 8, top // 4, top // 3):  # blue, green, red, NIR: each band its own range
        bands.append([0 if generator.random() < 0.3 else generator.randint(1 + offset, top // 2 + offset)
                      for _ in range(width * height)])
    path = tmp_path / f"{ITEM}_3B_AnalyticMS_clip.tif"
    _write_scene(path, data_type, typecode, bands, width, height)

    plan = rasters.plan_raster(str(path), ITEM, "PSScene", "analytic_udm2")

    assert plan.role == rasters.ANALYTIC and plan.bands == (3, 2, 1)
    for band, (low, high) in zip(plan.bands, plan.stretch):
        imagery = [v for v in bands[band - 1] if v]  # nodata (0) is not imagery
        expected_low, expected_high = _cut(imagery)
        # A large scene is sampled, not read whole: within 1 % of the band's range of the exact cut.
        tolerance = 1 + 0.01 * (max(imagery) - min(imagery))
        assert abs(low - expected_low) <= tolerance and abs(high - expected_high) <= tolerance, (band, low, high)
    assert list(tmp_path.iterdir()) == [path]  # no "<file>.aux.xml" left beside the user's imagery


def test_a_scene_footprint_is_its_extent_in_wgs84_and_a_file_that_is_no_raster_is_left_out(tmp_path):
    path = tmp_path / f"{ITEM}_3B_Visual_clip.tif"
    _write_scene(path, gdal.GDT_Byte, "B", [[10] * 600 * 400] * 3, width=600, height=400)
    not_a_raster = tmp_path / f"{ITEM}_3B_AnalyticMS_clip.tif"
    not_a_raster.write_text("an error page saved under the wrong name")

    plan = rasters.plan_raster(str(path), ITEM, "PSScene", "visual")

    assert plan.role == rasters.VISUAL and plan.band_count == 3 and plan.stretch == ()
    footprint = QgsGeometry.fromWkt(plan.footprint_wkt).boundingBox()
    # 1,800 m by 1,200 m from 9° E (UTM 32N's central meridian) at ~46° N.
    assert footprint.xMinimum() == pytest.approx(9.0, abs=1e-6)
    assert footprint.yMaximum() == pytest.approx(46.0536, abs=1e-4)
    assert footprint.width() == pytest.approx(1800 / 77_400, rel=0.02)
    assert footprint.height() == pytest.approx(1200 / 111_150, rel=0.02)
    assert rasters.plan_raster(str(not_a_raster), ITEM, "PSScene", "analytic") is None


def test_planning_in_another_thread_gives_the_same_plan(tmp_path):
    path = tmp_path / f"{ITEM}_3B_AnalyticMS_8b_clip.tif"
    generator = random.Random(3)
    _write_scene(path, gdal.GDT_UInt16, "H", [[generator.randint(1, 3000) for _ in range(300 * 200)]
                                              for _ in range(8)])
    here = rasters.plan_raster(str(path), ITEM, "PSScene", "analytic_8b_udm2")
    planned = []
    worker = threading.Thread(target=lambda: planned.append(
        rasters.plan_raster(str(path), ITEM, "PSScene", "analytic_8b_udm2")))
    worker.start()
    worker.join(30)

    assert planned == [here] and here.bands == (6, 4, 2) and len(here.stretch) == 3


def test_a_scene_of_nodata_only_is_shown_as_stored_and_a_wide_integer_range_is_still_cut(tmp_path):
    empty = tmp_path / f"{ITEM}_3B_AnalyticMS_clip.tif"
    _write_scene(empty, gdal.GDT_UInt16, "H", [[0] * 300 * 200] * 4)
    wide = tmp_path / f"{ITEM}_3B_AnalyticMS_SR_clip.tif"
    generator = random.Random(5)
    values = [generator.randint(-2_000_000_000, 2_000_000_000) for _ in range(300 * 200)]
    _write_scene(wide, gdal.GDT_Int32, "i", [values] * 4)

    assert rasters.plan_raster(str(empty), ITEM, "PSScene", "analytic").stretch == ()
    low, high = rasters.plan_raster(str(wide), ITEM, "PSScene", "analytic").stretch[0]
    expected_low, expected_high = _cut([v for v in values if v])
    assert abs(low - expected_low) < 0.01 * 4e9 and abs(high - expected_high) < 0.01 * 4e9
