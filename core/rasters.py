"""Delivered archive imagery on the map: an order's GeoTIFFs styled in a group, with their footprints and metadata."""

from __future__ import annotations

import json
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from qgis.core import (
    QgsContrastEnhancement,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFields,
    QgsFillSymbol,
    QgsGeometry,
    QgsLayerTreeGroup,
    QgsMultiBandColorRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsRectangle,
    QgsSingleBandGrayRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from . import compat, layer_store
from .errors import Cancelled
from .log import get_logger

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]

_log = get_logger("rasters")

ARCHIVE_GROUP = "Archive imagery"  # the top-level group every order's group sits in
FOOTPRINTS_LAYER = "Footprints"
FOOTPRINTS_FILE = "footprints.gpkg"  # written in the order's folder, beside the files it describes
RASTER_SUFFIXES = (".tif", ".tiff")
METADATA_SUFFIX = "_metadata.json"
# Custom properties that tie groups and layers to an order, so loading it again finds them.
ORDER_PROPERTY = "satellite_tasking/archive_order"
FILE_PROPERTY = "satellite_tasking/archive_file"
FOOTPRINTS_PROPERTY = "satellite_tasking/archive_footprints"
# The stretch of analytic imagery: 2 % to 98 % of the values, QGIS's own default cut.
CUT_LOWER, CUT_UPPER = 0.02, 0.98
FOOTPRINT_FIELDS = ("item_id", "item_type", "bundle", "asset", "acquired", "file", "metadata")

# What a raster shows, by its role: visual is display-ready RGB; analytic 4-band is B, G, R, NIR and 8-band
# is coastal blue, blue, green I, green, yellow, red, red edge, NIR (Planet's band orders); a usable-data
# mask is shown by its first band (clear) and unchecked.
VISUAL, ANALYTIC, MASK, OTHER = "visual", "analytic", "mask", "other"
BASEMAP = "basemap"  # the bundle named for basemap quads: 8-bit quads are visual (RGB, alpha), others analytic


@dataclass(frozen=True)
class RasterPlan:
    """One delivered GeoTIFF as it will be shown, worked out off the GUI thread by plan_order_imagery.

    `bands` are the red, green and blue band numbers (one number: grey); `stretch` a (min, max) per band of
    `bands` (empty: shown as stored); `footprint_wkt` the raster's extent in EPSG:4326."""

    path: str
    item_id: str
    item_type: str
    bundle: str
    asset: str
    role: str
    band_count: int
    bands: Tuple[int, ...]
    stretch: Tuple[Tuple[float, float], ...]
    footprint_wkt: str
    acquired: Optional[str] = None
    metadata_path: Optional[str] = None

    @property
    def name(self) -> str:
        return _stem(self.path)

    @property
    def visible(self) -> bool:
        return self.role != MASK


@dataclass(frozen=True)
class OrderImagery:
    """What plan_order_imagery found for one order: its rasters, and the footprints file it wrote (None when
    it could not write one; add_order_imagery then keeps the footprints in memory)."""

    order_id: str
    order_name: str
    rasters: Tuple[RasterPlan, ...]
    footprints_path: Optional[str] = None


# -- planning (any thread; no project, layer tree or widget) ----------------------------------------------

def _products_by_item(products: Iterable[Any]) -> Dict[str, Tuple[str, str]]:
    """{item id: (item type, bundle)} from the order's products (objects or dicts with item_ids, item_type,
    product_bundle; basemap products have none)."""
    found: Dict[str, Tuple[str, str]] = {}
    for product in products:
        get = product.get if isinstance(product, dict) else lambda name, p=product: getattr(p, name, None)
        for item_id in get("item_ids") or ():
            found[str(item_id)] = (str(get("item_type") or ""), str(get("product_bundle") or ""))
        for quad_id in get("quad_ids") or ():
            found[str(quad_id)] = (str(get("mosaic_name") or ""), BASEMAP)
    return found


VSIZIP = "/vsizip/"  # GDAL reads a file inside a zip in place: "/vsizip/<zip path>/<member>"


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _stem(path: str) -> str:
    name = _name(path)
    return name.rsplit(".", 1)[0] if "." in name else name


def _kind_from_folder(path: str) -> Tuple[str, str]:
    """Item type and bundle where the products do not say: "<order>/<item type>/<file>" for scenes,
    "<order>/<mosaic>/quads/<quad>.tif" for basemap quads (an order by area names no quads)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[-2] == "quads":
        return parts[-3], BASEMAP
    return (parts[-2] if len(parts) >= 2 else ""), ""


def _item_of(path: str, items: Dict[str, Tuple[str, str]], metadata_ids: Sequence[str]) -> str:
    """The item a file belongs to: the longest known item id its name starts with (the order's own, then
    those of the metadata files beside it), else the name up to Planet's "_3B_" product level, else its stem."""
    name, stem = _name(path), _stem(path)
    for known in (sorted(items, key=len, reverse=True), sorted(metadata_ids, key=len, reverse=True)):
        for item_id in known:
            if name.startswith(item_id + "_") or stem == item_id:
                return item_id
    return name.split("_3B_", 1)[0] if "_3B_" in name else stem


def _asset_of(path: str, item_id: str) -> str:
    """The asset part of a file name: "<item>_3B_AnalyticMS_clip.tif" -> "AnalyticMS"."""
    stem = _stem(path)
    rest = stem[len(item_id):].lstrip("_") if stem.startswith(item_id) else stem
    if rest.startswith("3B_"):
        rest = rest[3:]
    return rest[: -len("_clip")] if rest.endswith("_clip") else rest


def _role(asset: str, band_count: int, bundle: str = "", eight_bit: bool = False) -> str:
    lowered = asset.lower()
    if "udm" in lowered:
        return MASK
    if "visual" in lowered or (bundle == BASEMAP and eight_bit):
        return VISUAL
    if band_count >= 4:
        return ANALYTIC
    return OTHER


def _display_bands(role: str, band_count: int) -> Tuple[int, ...]:
    if role == MASK or band_count < 3:
        return (1,)
    if role == ANALYTIC:
        return (6, 4, 2) if band_count >= 8 else (3, 2, 1)  # true colour from B, G, R(, NIR) band orders
    return (1, 2, 3)


def _bundle_for(bundle: str, role: str) -> str:
    """The bundle a file came in: the order's bundle, or of a fallback list ("analytic_udm2,visual") the
    one that makes files of this kind."""
    choices = [b.strip() for b in bundle.split(",") if b.strip()]
    if len(choices) <= 1:
        return bundle
    visual = [b for b in choices if "visual" in b]
    others = [b for b in choices if "visual" not in b]
    return (visual if role == VISUAL and visual else others or choices)[0]


def _read_text(path: str) -> str:
    """A file's text, also of a member of a zip named the GDAL way ("/vsizip/<zip>/<member>")."""
    if path.startswith(VSIZIP):
        archive, _, member = path[len(VSIZIP):].partition(".zip/")
        with zipfile.ZipFile(archive + ".zip") as opened:
            return opened.read(member).decode("utf-8")
    return Path(path).read_text(encoding="utf-8")


def _acquired(metadata: Optional[str]) -> Optional[str]:
    if metadata is None:
        return None
    try:
        document = json.loads(_read_text(metadata))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    properties = document.get("properties") if isinstance(document, dict) else None
    acquired = properties.get("acquired") if isinstance(properties, dict) else None
    return str(acquired) if acquired else None


def _footprint_wkt(dataset: Any) -> str:
    """The raster's extent in EPSG:4326, from its corners (GDAL's geotransform) in its own CRS."""
    x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()  # (0, 1, 0, 0, 0, 1) when the file has none
    width, height = dataset.RasterXSize, dataset.RasterYSize
    corners = [(x0 + col * dx + row * rx, y0 + col * ry + row * dy)
               for col, row in ((0, 0), (width, 0), (width, height), (0, height))]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    geometry = QgsGeometry.fromRect(QgsRectangle(min(xs), min(ys), max(xs), max(ys)))
    wkt = dataset.GetProjection()
    crs = QgsCoordinateReferenceSystem.fromWkt(wkt) if wkt else QgsCoordinateReferenceSystem()
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    if crs.isValid() and crs != wgs84:
        geometry.transform(QgsCoordinateTransform(crs, wgs84, QgsCoordinateTransformContext()))
    return geometry.asWkt(8)


def _cumulative_cut(band: Any) -> Optional[Tuple[float, float]]:
    """The band's 2–98 % cut (None when it holds no value but nodata): GDAL's histogram of the band, which
    leaves nodata out and, approximate, reads an overview or a sample of the blocks, so a large scene costs
    little; one bucket per value for integer data up to 16 bits' range (QGIS's own cut does so for bytes),
    1,000 otherwise."""
    try:
        low, high = band.ComputeRasterMinMax(True)
    except (RuntimeError, TypeError):  # no valid pixel: an error, or None, by GDAL's version and error mode
        return None
    if low is None or high is None or low != low or high != high:
        return None
    integers = band.DataType in _INTEGER_TYPES and high - low < _MOST_BUCKETS  # wider: buckets, as for floats
    if integers:
        buckets, start, end = int(high - low) + 1, low - 0.5, high + 0.5
    else:
        buckets, start, end = 1000, low, high if high > low else low + 1.0
    counts = band.GetHistogram(start, end, buckets, 1, 1)  # values outside (an approximate min-max) at the ends
    total = sum(counts)
    if not total:
        return None
    step = (end - start) / buckets
    lower_count, upper_count = round(CUT_LOWER * total), round(CUT_UPPER * total)
    seen, lower = 0, None
    for bucket, count in enumerate(counts):
        seen += count
        if lower is None and seen > lower_count:
            lower = bucket
        if seen >= upper_count:
            break
    if integers:
        return low + (lower or 0), low + bucket
    return start + (lower or 0) * step, start + (bucket + 1) * step


_MOST_BUCKETS = 65_536  # an integer band's histogram has one bucket per value up to this range (UInt16's)
# GDAL's integer pixel types (gdalconst numbers, the same in every GDAL): Byte, UInt16, Int16, UInt32, Int32,
# UInt64, Int64, Int8.
_INTEGER_TYPES = frozenset((1, 2, 3, 4, 5, 12, 13, 14))


def plan_raster(path: str, item_id: str, item_type: str, bundle: str,
                metadata: Optional[str] = None) -> Optional[RasterPlan]:
    """How one GeoTIFF will be shown (None when GDAL cannot read it): its role, display bands, and for
    analytic imagery each band's 2–98 % cut, read here so the GUI thread never scans pixels.

    Read with GDAL's own API: this runs in a task, and a QgsRasterLayer (a QObject made for the main thread)
    constructed there crashed QGIS twice in CI; a dataset of GDAL's own is not shared with QGIS's providers."""
    # No "<file>.aux.xml" beside the user's imagery: GDAL would keep the histograms read here in one.
    with compat.gdal_module() as gdal, compat.gdal_options(GDAL_PAM_ENABLED="NO"):
        # This thread's only: GDAL's own errors (no valid pixel in a band, not a raster) are said below or not at all.
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            return _plan_dataset(gdal, path, item_id, item_type, bundle, metadata)
        finally:
            gdal.PopErrorHandler()


def _plan_dataset(gdal: Any, path: str, item_id: str, item_type: str, bundle: str,
                  metadata: Optional[str]) -> Optional[RasterPlan]:
    try:
        dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
    except RuntimeError:  # GDAL < 3.7 with exceptions turned on for everyone
        dataset = None
    if dataset is None or dataset.RasterCount < 1:
        _log.warning("%s is not a raster GDAL can read; it is not added to the map", path)
        return None
    band_count = dataset.RasterCount
    asset = _asset_of(path, item_id)
    role = _role(asset, band_count, bundle, dataset.GetRasterBand(1).DataType == gdal.GDT_Byte)
    bands = _display_bands(role, band_count)
    stretch: Tuple[Tuple[float, float], ...] = ()
    if role in (ANALYTIC, OTHER):
        cuts = [_cumulative_cut(dataset.GetRasterBand(band)) for band in bands]  # _display_bands: all exist
        if all(cuts):
            stretch = tuple(cuts)  # type: ignore[arg-type]
    elif role == MASK:
        stretch = ((0.0, 1.0),)  # the clear band is 0 or 1
    return RasterPlan(path=path, item_id=item_id, item_type=item_type, bundle=_bundle_for(bundle, role),
                      asset=asset, role=role, band_count=band_count, bands=bands, stretch=stretch,
                      footprint_wkt=_footprint_wkt(dataset), acquired=_acquired(metadata), metadata_path=metadata)


def _opened_zips(paths: Iterable[str]) -> List[str]:
    """`paths` with each zip replaced by its members as GDAL reads them in place (zip delivery)."""
    expanded: List[str] = []
    for path in paths:
        if not path.lower().endswith(".zip"):
            expanded.append(path)
            continue
        try:
            with zipfile.ZipFile(path) as opened:
                members = [name for name in opened.namelist() if not name.endswith("/")]
        except (OSError, zipfile.BadZipFile) as error:
            _log.warning("%s could not be read as a zip (%s); its rasters are not added", path, error)
            continue
        expanded += [f"{VSIZIP}{path}/{member}" for member in members]
    return expanded


def plan_order_imagery(order_id: str, order_name: str, files: Iterable[Any], products: Iterable[Any] = (), *,
                       is_canceled: Optional[Callable[[], bool]] = None,
                       progress: Optional[Callable[[float], Any]] = None) -> OrderImagery:
    """The rasters among an order's downloaded `files` (paths as the order laid them out; zips are read
    in place), each planned, and their footprints written to `footprints.gpkg` in the order's folder. Runs
    in a task: it reads the files and writes one, and touches no project, layer tree or widget. Item type
    and bundle come from the order's `products` (the file's folder names the item type where they do not)."""
    paths = _opened_zips(str(f) for f in files)
    items = _products_by_item(products)
    rasters = sorted(p for p in paths if p.lower().endswith(RASTER_SUFFIXES))
    metadata_files = {p for p in paths if p.endswith(METADATA_SUFFIX)}
    plans: List[RasterPlan] = []
    for index, path in enumerate(rasters):
        if is_canceled is not None and is_canceled():
            raise Cancelled("Adding the rasters to the map was cancelled.")
        beside = [_name(m)[: -len(METADATA_SUFFIX)] for m in metadata_files if _folder(m) == _folder(path)]
        item_id = _item_of(path, items, beside)
        item_type, bundle = items.get(item_id) or _kind_from_folder(path)
        metadata = f"{_folder(path)}/{item_id}{METADATA_SUFFIX}"
        plan = plan_raster(path, item_id, item_type, bundle, metadata if metadata in metadata_files else None)
        if plan is not None:
            plans.append(plan)
        if progress is not None:
            progress(100.0 * (index + 1) / max(1, len(rasters)))
    footprints = _write_footprints(_order_folder(paths, order_id), plans) if plans else None
    return OrderImagery(order_id=order_id, order_name=order_name, rasters=tuple(plans), footprints_path=footprints)


def _order_folder(paths: Sequence[str], order_id: str) -> Path:
    """The folder the order's files sit in: "<download folder>/<order id>/" as the service names them."""
    on_disk = [path[len(VSIZIP):].split(".zip/", 1)[0] + ".zip" if path.startswith(VSIZIP) else path
               for path in paths]
    for path in on_disk:
        for parent in Path(path).parents:
            if parent.name == order_id:
                return parent
    return Path(os.path.commonpath([str(Path(p).parent) for p in on_disk]))


def footprint_fields() -> QgsFields:
    fields = QgsFields()
    for name in FOOTPRINT_FIELDS:
        fields.append(compat.make_field(name, compat.STRING))
    return fields


def _footprints_memory_layer(plans: Sequence[RasterPlan], name: str = FOOTPRINTS_LAYER) -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", name, "memory")
    fields = footprint_fields()
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    features = []
    for plan in plans:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(plan.footprint_wkt))
        feature.setAttributes([plan.item_id, plan.item_type, plan.bundle, plan.asset, plan.acquired, plan.path,
                               plan.metadata_path])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    return layer


def _listed_files(path: Path) -> Optional[List[str]]:
    layer = layer_store.open_ogr_layer(str(path), "existing footprints")
    if not layer.isValid() or "file" not in layer.fields().names():
        return None
    return sorted(str(f["file"]) for f in layer.getFeatures())


def _write_footprints(folder: Path, plans: Sequence[RasterPlan]) -> Optional[str]:
    """`folder/footprints.gpkg` with one feature per raster; kept as it is when it already lists the same
    rasters (a loaded order's layer reads it). None when it cannot be written (a read-only folder)."""
    target = folder / FOOTPRINTS_FILE
    if target.exists() and _listed_files(target) == sorted(p.path for p in plans):
        return str(target)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.fileEncoding = "UTF-8"
    options.layerName = "footprints"
    options.actionOnExistingFile = QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(
        _footprints_memory_layer(plans), str(target), QgsCoordinateTransformContext(), options)
    if error != QgsVectorFileWriter.WriterError.NoError:
        _log.warning("The footprints of the order could not be written to %s (%s); they are kept in memory.",
                     target, message)
        return None
    return str(target)


# -- adding to the project (main thread) ----------------------------------------------------------------

def archive_group(project: QgsProject) -> QgsLayerTreeGroup:
    """The project's "Archive imagery" group, made at the top of the layer tree when missing."""
    root = project.layerTreeRoot()
    group = root.findGroup(ARCHIVE_GROUP)
    return group if group is not None else root.insertGroup(0, ARCHIVE_GROUP)


def order_group(project: QgsProject, order_id: str) -> Optional[QgsLayerTreeGroup]:
    """The group of an order's imagery, or None when the order is not on the map."""
    root = project.layerTreeRoot().findGroup(ARCHIVE_GROUP)
    if root is None:
        return None
    for child in root.children():
        if isinstance(child, QgsLayerTreeGroup) and child.customProperty(ORDER_PROPERTY) == order_id:
            return child
    return None


def _new_order_group(project: QgsProject, order_id: str, order_name: str) -> QgsLayerTreeGroup:
    parent = archive_group(project)
    taken = {child.name() for child in parent.children() if isinstance(child, QgsLayerTreeGroup)}
    # Two orders may share a name; the id's start tells their groups apart.
    name = order_name or order_id
    if name in taken:
        name = f"{name} ({order_id[:8]})"
    group = parent.insertGroup(0, name)
    group.setCustomProperty(ORDER_PROPERTY, order_id)
    return group


def order_layers(project: QgsProject, order_id: str) -> List[QgsRasterLayer]:
    """The order's raster layers in the project (in the order's group or moved elsewhere by the user)."""
    return [layer for layer in project.mapLayers().values()
            if isinstance(layer, QgsRasterLayer) and layer.customProperty(ORDER_PROPERTY) == order_id]


def _contrast(provider: Any, band: int, limits: Tuple[float, float]) -> QgsContrastEnhancement:
    enhancement = QgsContrastEnhancement(provider.dataType(band))
    enhancement.setContrastEnhancementAlgorithm(
        QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum)
    enhancement.setMinimumValue(limits[0])
    enhancement.setMaximumValue(limits[1])
    return enhancement


def _cut_origin() -> QgsRasterMinMaxOrigin:
    origin = QgsRasterMinMaxOrigin()
    origin.setLimits(QgsRasterMinMaxOrigin.Limits.CumulativeCut)
    origin.setCumulativeCutLower(CUT_LOWER)
    origin.setCumulativeCutUpper(CUT_UPPER)
    return origin


def style_raster(layer: QgsRasterLayer, plan: RasterPlan) -> None:
    """Visual: RGB 1, 2, 3 as stored. Analytic: true colour (4-band 3, 2, 1; 8-band 6, 4, 2) stretched to the
    2–98 % cut. Mask and one-band rasters: grey from band 1."""
    provider = layer.dataProvider()
    if len(plan.bands) == 3 and layer.bandCount() >= max(plan.bands):
        renderer = QgsMultiBandColorRenderer(provider, *plan.bands)
        if plan.stretch:
            renderer.setRedContrastEnhancement(_contrast(provider, plan.bands[0], plan.stretch[0]))
            renderer.setGreenContrastEnhancement(_contrast(provider, plan.bands[1], plan.stretch[1]))
            renderer.setBlueContrastEnhancement(_contrast(provider, plan.bands[2], plan.stretch[2]))
            renderer.setMinMaxOrigin(_cut_origin())
    else:
        renderer = QgsSingleBandGrayRenderer(provider, plan.bands[0])
        if plan.stretch:
            renderer.setContrastEnhancement(_contrast(provider, plan.bands[0], plan.stretch[0]))
    layer.setRenderer(renderer)


def _layer_summary(plan: RasterPlan) -> str:
    parts = [f"Item {plan.item_id}", plan.item_type, plan.bundle, plan.asset]
    if plan.acquired:
        parts.append(f"acquired {plan.acquired}")
    if plan.metadata_path:
        parts.append(f"metadata {plan.metadata_path}")
    return ", ".join(p for p in parts if p)


def display_order(plans: Iterable[RasterPlan]) -> List[RasterPlan]:
    """The order rasters take in their group: visible imagery by item, masks last."""
    return sorted(plans, key=lambda plan: (not plan.visible, plan.item_id, plan.name))


class OrderImageryLoader:
    """Adds an order's planned rasters to the project a few at a time (main thread), so that a large order
    never stalls the GUI: call `step(budget)` once per event-loop turn until it returns True.

    Loading an order again adds nothing twice: a file already on the map (by the order's id and the file's
    path, wherever the user moved its layer) keeps its layer and style; only files not yet there are added.
    """

    def __init__(self, project: QgsProject, imagery: OrderImagery):
        self.project = project
        self.imagery = imagery
        self.plans = display_order(imagery.rasters)
        self.next = 0
        self._group: Optional[QgsLayerTreeGroup] = None

    @property
    def done(self) -> bool:
        return self._group is not None and self.next >= len(self.plans)

    def step(self, budget: Optional[float] = None) -> bool:
        """Add rasters for up to `budget` seconds (None: all of them); True once every raster is there."""
        started = time.perf_counter()
        if self._group is None or sip.isdeleted(self._group):
            self._group = order_group(self.project, self.imagery.order_id) or _new_order_group(
                self.project, self.imagery.order_id, self.imagery.order_name)
            _add_footprints(self.project, self._group, self.imagery)
        present = {layer.customProperty(FILE_PROPERTY) for layer in order_layers(self.project, self.imagery.order_id)}
        while self.next < len(self.plans):
            plan = self.plans[self.next]
            self.next += 1
            if plan.path not in present:
                self._add(plan)
            if budget is not None and time.perf_counter() - started >= budget:
                break
        return self.done

    def _add(self, plan: RasterPlan) -> None:
        layer = QgsRasterLayer(plan.path, plan.name, "gdal")
        if not layer.isValid():
            _log.warning("%s could not be opened as a raster; it is not on the map", plan.path)
            return
        style_raster(layer, plan)
        layer.setCustomProperty(ORDER_PROPERTY, self.imagery.order_id)
        layer.setCustomProperty(FILE_PROPERTY, plan.path)
        metadata = layer.metadata()  # what the layer's properties show: the item, its bundle, metadata file
        metadata.setAbstract(_layer_summary(plan))
        layer.setMetadata(metadata)
        self.project.addMapLayer(layer, False)
        node = self._group.addLayer(layer)
        node.setItemVisibilityChecked(plan.visible)

    def layers(self) -> List[QgsRasterLayer]:
        """The order's raster layers now in the project, in display order."""
        by_path = {plan.path: index for index, plan in enumerate(self.plans)}
        present = [layer for layer in order_layers(self.project, self.imagery.order_id)
                   if layer.customProperty(FILE_PROPERTY) in by_path]
        return sorted(present, key=lambda layer: by_path[layer.customProperty(FILE_PROPERTY)])


def add_order_imagery(project: QgsProject, imagery: OrderImagery) -> List[QgsRasterLayer]:
    """Put an order's planned rasters and footprints in "Archive imagery" / "<order name>" at once (main
    thread; OrderImageryLoader does it a slice per event-loop turn). Nothing is added twice. Returns every
    raster layer of the order now in the project, visible imagery first, masks last and unchecked."""
    loader = OrderImageryLoader(project, imagery)
    loader.step()
    return loader.layers()


def _add_footprints(project: QgsProject, group: QgsLayerTreeGroup, imagery: OrderImagery) -> Optional[QgsVectorLayer]:
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsVectorLayer) and layer.customProperty(FOOTPRINTS_PROPERTY) == imagery.order_id:
            layer.dataProvider().reloadData()  # the file may list rasters added since
            layer.triggerRepaint()
            return layer
    if not imagery.rasters:
        return None
    if imagery.footprints_path:
        uri = layer_store.table_uri(imagery.footprints_path, "footprints")
        layer = layer_store.open_ogr_layer(uri, FOOTPRINTS_LAYER)
    else:
        layer = _footprints_memory_layer(imagery.rasters)
    if not layer.isValid():
        _log.warning("The footprints of order %s could not be opened", imagery.order_id)
        return None
    # Outlines only: the footprints frame the imagery under them.
    layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
        {"style": "no", "outline_color": "255,170,0,255", "outline_width": "0.6"})))
    layer.setCustomProperty(FOOTPRINTS_PROPERTY, imagery.order_id)
    project.addMapLayer(layer, False)
    group.insertLayer(0, layer)
    return layer
