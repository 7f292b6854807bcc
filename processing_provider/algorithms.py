"""Every algorithm of the provider, in the Toolbox's order."""

from __future__ import annotations

from typing import List

from qgis.core import QgsProcessingAlgorithm


def all_algorithms() -> List[QgsProcessingAlgorithm]:
    from .load_orders import LoadCapturesAlgorithm, LoadOrdersAlgorithm
    from .price_aois import PriceAoisAlgorithm

    return [PriceAoisAlgorithm(), LoadOrdersAlgorithm(), LoadCapturesAlgorithm()]
