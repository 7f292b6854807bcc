"""A tiny uncompressed GeoTIFF writer (standard library only) for the files an order delivers."""

from __future__ import annotations

import struct
from typing import Iterator, List, Sequence, Tuple

# TIFF tag ids and field types used below.
_SHORT, _LONG, _DOUBLE = 3, 4, 12
_GEOKEY_DIRECTORY, _MODEL_PIXEL_SCALE, _MODEL_TIEPOINT = 34735, 33550, 33922


CHUNK_BYTES = 4 << 20  # pixel rows handed out at a time: a 200 MB raster is written in constant memory


def write_geotiff(bounds: Tuple[float, float, float, float], width: int, height: int, bands: int,
                  bits: int = 8, seed: int = 0) -> bytes:
    """A little-endian, pixel-interleaved GeoTIFF in EPSG:4326 over `bounds` (west, south, east, north).

    Pixels are a deterministic pattern per band so a viewer shows an image, not noise or black.
    """
    return b"".join(geotiff_chunks(bounds, width, height, bands, bits, seed))


def geotiff_chunks(bounds: Tuple[float, float, float, float], width: int, height: int, bands: int,
                   bits: int = 8, seed: int = 0) -> Iterator[bytes]:
    """The bytes of write_geotiff's file in pieces of at most a few MB: the header, then bands of rows."""
    yield _header(bounds, width, height, bands, bits, width * height * bands * bits // 8)
    yield from _pixel_chunks(width, height, bands, bits, seed)


def _header(bounds: Tuple[float, float, float, float], width: int, height: int, bands: int, bits: int,
            pixel_bytes: int) -> bytes:
    west, south, east, north = bounds

    geokeys: Sequence[int] = (1, 1, 0, 3,       # version 1.1.0, 3 keys
                              1024, 0, 1, 2,    # GTModelTypeGeoKey = geographic
                              1025, 0, 1, 1,    # GTRasterTypeGeoKey = pixel is area
                              2048, 0, 1, 4326)  # GeographicTypeGeoKey = WGS 84
    scale = ((east - west) / width, (north - south) / height, 0.0)
    tiepoint = (0.0, 0.0, 0.0, west, north, 0.0)
    extra_samples = bands - 3 if bands >= 3 else bands - 1
    photometric = 2 if bands >= 3 else 1
    entries = [
        (256, _LONG, [width]), (257, _LONG, [height]), (258, _SHORT, [bits] * bands), (259, _SHORT, [1]),
        (262, _SHORT, [photometric]), (273, _LONG, [0]), (277, _SHORT, [bands]), (278, _LONG, [height]),
        (279, _LONG, [pixel_bytes]), (284, _SHORT, [1]),
    ]
    if extra_samples > 0:
        entries.append((338, _SHORT, [0] * extra_samples))  # unspecified extra bands (NIR, red edge...)
    entries.append((339, _SHORT, [1] * bands))  # unsigned integers
    entries += [(_MODEL_PIXEL_SCALE, _DOUBLE, list(scale)), (_MODEL_TIEPOINT, _DOUBLE, list(tiepoint)),
                (_GEOKEY_DIRECTORY, _SHORT, list(geokeys))]
    entries.sort(key=lambda e: e[0])

    header_size = 8
    ifd_size = 2 + 12 * len(entries) + 4
    data_start = header_size + ifd_size
    out_of_line = bytearray()
    packed_entries = []
    pixel_offset_entry = None
    for tag, kind, values in entries:
        code = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}[kind]
        payload = struct.pack("<" + code * len(values), *values)
        if len(payload) <= 4:
            packed_entries.append(struct.pack("<HHI", tag, kind, len(values)) + payload.ljust(4, b"\0"))
        else:
            if len(out_of_line) % 2:
                out_of_line += b"\0"  # TIFF values start on a word boundary
            offset = data_start + len(out_of_line)
            out_of_line += payload
            packed_entries.append(struct.pack("<HHII", tag, kind, len(values), offset))
        if tag == 273:
            pixel_offset_entry = len(packed_entries) - 1
    if len(out_of_line) % 2:
        out_of_line += b"\0"
    pixel_start = data_start + len(out_of_line)
    assert pixel_offset_entry is not None
    packed_entries[pixel_offset_entry] = struct.pack("<HHII", 273, _LONG, 1, pixel_start)
    header = b"II" + struct.pack("<HI", 42, header_size)
    ifd = struct.pack("<H", len(entries)) + b"".join(packed_entries) + struct.pack("<I", 0)
    return header + ifd + bytes(out_of_line)


def _pixel_chunks(width: int, height: int, bands: int, bits: int, seed: int) -> Iterator[bytes]:
    """The pixel data: a pattern that repeats every 64 pixels both ways, so big rasters cost little to make."""
    period = 64
    code = "B" if bits == 8 else "H"
    peak = 255 if bits == 8 else 4000
    rows: List[bytes] = []
    for y in range(min(height, period)):
        values = []
        for x in range(min(width, period)):
            for band in range(bands):
                wave = ((x * (band + 1) + y * (bands - band) + seed * 7) % period) / (period - 1)
                values.append(int(peak * (0.2 + 0.6 * wave)))
        block = struct.pack("<" + code * len(values), *values)
        whole, rest = divmod(width, period)
        pixel_bytes = bands * bits // 8
        rows.append(block * whole + block[: rest * pixel_bytes])
    rows_per_chunk = max(1, CHUNK_BYTES // max(1, len(rows[0])))
    for first in range(0, height, rows_per_chunk):
        yield b"".join(rows[y % period] for y in range(first, min(height, first + rows_per_chunk)))
