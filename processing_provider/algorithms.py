"""Every algorithm of the provider, in the Toolbox's order."""

from __future__ import annotations

from typing import List

from qgis.core import QgsProcessingAlgorithm


def all_algorithms() -> List[QgsProcessingAlgorithm]:
    from .archive_imagery import OrderArchiveImageryAlgorithm
    from .create_orders import CreateOrdersAlgorithm
    from .load_orders import LoadCapturesAlgorithm, LoadOrdersAlgorithm
    from .order_actions import CancelOrdersAlgorithm, EditOrdersAlgorithm
    from .price_aois import PriceAoisAlgorithm
    from .search_windows import SearchWindowsAlgorithm
    from .up42_orders import Up42EstimateAlgorithm, Up42PlaceAlgorithm

    return [PriceAoisAlgorithm(), CreateOrdersAlgorithm(), SearchWindowsAlgorithm(), LoadOrdersAlgorithm(),
            LoadCapturesAlgorithm(), EditOrdersAlgorithm(), CancelOrdersAlgorithm(),
            OrderArchiveImageryAlgorithm(), Up42EstimateAlgorithm(), Up42PlaceAlgorithm()]
