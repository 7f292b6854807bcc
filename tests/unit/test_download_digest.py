"""The digest a download works out as its chunks arrive: the same as hashing the whole file, and never a hang."""

from __future__ import annotations

import hashlib

import pytest

from core.services.planet_orders.client import _DigestAside, _fastest_digest

CHUNK = b"0123456789abcdef" * 4096  # 64 KB


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_the_digest_of_a_resumed_file_is_that_of_its_kept_part_and_the_new_chunks(tmp_path, algorithm):
    part = tmp_path / "raster.tif.part"
    part.write_bytes(b"kept" * 1000 + b"written after the cut")
    aside = _DigestAside(algorithm, (part, 4000))  # only the bytes the resume started from
    for _ in range(40):  # more than the queue holds at once
        aside.update(CHUNK)
    assert aside.hexdigest() == hashlib.new(algorithm, b"kept" * 1000 + CHUNK * 40).hexdigest()


@pytest.mark.timeout(30)
def test_an_unreadable_kept_part_gives_no_digest_and_does_not_hold_up_the_download(tmp_path):
    aside = _DigestAside("sha256", (tmp_path / "gone.part", 1000))
    for _ in range(40):  # would block on a full queue if nothing drained it
        aside.update(CHUNK)
    assert aside.hexdigest() is None  # the caller then reads the whole file instead


def test_the_fastest_digest_is_one_the_manifest_gives():
    assert _fastest_digest() in ("sha256", "md5")
