"""Planet's own `planet` SDK (3.7) against the sandbox: run by the SDK's interpreter, prints what it saw as JSON.

Usage: python sdk_flow.py ROOT_URL API_KEY DOWNLOAD_DIR (imports nothing of this repository).
"""

import asyncio
import itertools
import json
import sys
from pathlib import Path

import httpx
import planet.specs
from planet import Auth, OrdersClient, Session
from planet.order_request import build_request, clip_tool, product

ITEMS = ["20220304_093300_37_2430", "20220305_093440_25_2429"]
CLIP = {"type": "Polygon", "coordinates": [[[6.32968245, 45.82695668], [6.32968294, 45.81749065],
                                             [6.34141363, 45.81749011], [6.34141312, 45.82695623],
                                             [6.32968245, 45.82695668]]]}


def use_the_sandboxs_bundles_spec(root: str) -> None:
    # product() validates bundles with a spec the SDK fetches from api.planet.com; give it the sandbox's.
    bundles = httpx.get(root + "/compute/ops/bundles/spec").json()["bundles"]
    planet.specs.PRODUCT_BUNDLES.cache = {
        "bundles": bundles, "bundle_names": bundles.keys(),
        "item_types": set(itertools.chain.from_iterable(b["assets"].keys() for b in bundles.values()))}


async def flow(root: str, key: str, directory: Path) -> dict:
    seen: dict = {}
    async with Session(auth=Auth.from_key(key)) as session:
        client = OrdersClient(session, base_url=root + "/compute/ops")
        # Cancel first and at once: an order stays queued for 30 simulated seconds only.
        other = await client.create_order(build_request("to cancel", [product(ITEMS[:1], "visual", "PSScene")]))
        seen["cancelled"] = (await client.cancel_order(other["id"]))["state"]
        order = await client.create_order(build_request(
            "sdk order", [product(ITEMS, "analytic_udm2", "PSScene")], tools=[clip_tool(CLIP)]))
        seen["created"] = order["state"]
        seen["stats"] = await client.aggregated_order_stats()
        seen["waited"] = await client.wait(order["id"], delay=1, max_attempts=60)
        paths = await client.download_order(order["id"], directory=directory, progress_bar=False)
        seen["downloaded"] = sorted(str(Path(p).relative_to(directory)) for p in paths)
        client.validate_checksum(directory / order["id"], "MD5")
        client.validate_checksum(directory / order["id"], "SHA256")
        seen["checksums"] = "ok"
        seen["listed"] = sorted([o["name"] async for o in client.list_orders()])
        third = await client.create_order(build_request("bulk", [product(ITEMS[:1], "visual", "PSScene")]))
        seen["bulk_by_id"] = await client.cancel_orders([third["id"]])
        seen["order_id"] = order["id"]
    return seen


if __name__ == "__main__":
    use_the_sandboxs_bundles_spec(sys.argv[1])
    print(json.dumps(asyncio.run(flow(sys.argv[1], sys.argv[2], Path(sys.argv[3])))))
