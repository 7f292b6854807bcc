"""SQLite persistence: every object is a JSON document kept in memory and written through on commit."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Dict, Iterable, Optional, Set, Tuple


def default_db_path() -> str:
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(base / "satellite-tasking" / "sandbox.sqlite3")


def public(document: dict) -> dict:
    """The API view of a stored document: bookkeeping keys start with an underscore and stay inside."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


class Store:
    """Objects by kind and id, in creation order; callers hold the application lock around every use.

    A kind is any name an API chooses for its objects (the Tasking API's: order, capture, search, bulk).
    """

    def __init__(self, path: str):
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, check_same_thread=False)
        if path != ":memory:":
            # WAL with NORMAL sync: a commit per request without an fsync each time; a crash loses at most
            # the last moments, never consistency, which is the right trade for an emulator.
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY (kind, id))"
        )
        self.connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.connection.commit()
        self.objects: Dict[str, Dict[str, dict]] = {}
        self._dirty: Set[Tuple[str, str]] = set()
        self._meta_dirty: Dict[str, str] = {}
        self.seq = 0
        for kind, object_id, seq, data in self.connection.execute(
            "SELECT kind, id, seq, data FROM objects ORDER BY seq"
        ):
            self.objects.setdefault(kind, {})[object_id] = json.loads(data)
            self.seq = max(self.seq, seq)

    def meta(self, name: str) -> Optional[str]:
        if name in self._meta_dirty:
            return self._meta_dirty[name]
        row = self.connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        self._meta_dirty[name] = value

    def add(self, kind: str, obj: dict) -> dict:
        self.seq += 1
        obj["_seq"] = self.seq
        self.objects.setdefault(kind, {})[obj["id"]] = obj
        self._dirty.add((kind, obj["id"]))
        return obj

    def get(self, kind: str, object_id: str) -> Optional[dict]:
        return self.objects.get(kind, {}).get(object_id)

    def all(self, kind: str) -> Iterable[dict]:
        return self.objects.get(kind, {}).values()

    def touch(self, kind: str, obj: dict) -> None:
        self._dirty.add((kind, obj["id"]))

    def commit(self) -> None:
        if not self._dirty and not self._meta_dirty:
            return
        rows = []
        for kind, object_id in self._dirty:
            obj = self.objects.get(kind, {}).get(object_id)
            if obj is not None:
                rows.append((kind, object_id, obj["_seq"], json.dumps(obj, separators=(",", ":"))))
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO objects (kind, id, seq, data) VALUES (?, ?, ?, ?)", rows
            )
            self.connection.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", list(self._meta_dirty.items())
            )
        self._dirty.clear()
        self._meta_dirty.clear()

    def clear(self) -> None:
        with self.connection:
            self.connection.execute("DELETE FROM objects")
        self.objects = {}
        self._dirty.clear()

    def close(self) -> None:
        self.commit()
        self.connection.close()
