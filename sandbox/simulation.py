"""The shared simulation every emulated API runs on: one lock, the clock, the store, accounts, ids and events."""

from __future__ import annotations

import heapq
import random
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from sandbox.accounts import Account
from sandbox.clock import SimulatedClock
from sandbox.errors import not_found
from sandbox.store import Store
from sandbox.timefmt import format_time, from_epoch, parse_time

# A guard, not a limit met in practice: a rule bug must never hang the server inside one request.
MAX_EVENTS_PER_RUN = 2_000_000

# Bits of a UUID's integer that are not its version and variant: a reset's mask touches only these,
# so a masked id is still a valid version-4 UUID.
_RANDOM_BITS = ((1 << 128) - 1) ^ (0xF << 76) ^ (0x3 << 62)

# (object, event name, when it was due, the time the run goes up to) -> None
EventHandler = Callable[[dict, str, datetime, datetime], None]


class Simulation:
    """All state behind one lock; every entry point runs the simulation up to "now" first.

    APIs keep their objects in the store under kinds of their own and `register` a handler per kind;
    `schedule` puts an object's next event on the queue, `run_until` applies due events in time order.
    """

    def __init__(self, *, store: Store, accounts: List[Account], speed: float, seed: Optional[int],
                 start: Optional[datetime] = None):
        self.lock = threading.RLock()
        self.store = store
        self.accounts: Dict[str, Account] = {a.api_key: a for a in accounts}
        stored_seed = store.meta("seed")
        if seed is None:
            seed = int(stored_seed) if stored_seed is not None else random.SystemRandom().randrange(1 << 30)
        self.seed = seed
        store.set_meta("seed", str(seed))
        stored_now = parse_time(store.meta("clock_now") or "")
        # A stored clock wins: a restarted sandbox resumes where it stopped.
        start = stored_now or start or datetime.now(timezone.utc).replace(microsecond=0)
        self.clock = SimulatedClock(start, speed)
        self._id_counter = int(store.meta("id_counter") or 0)
        # How many resets this database has seen: part of every id, so none is handed out twice.
        self._generation = int(store.meta("id_generation") or 0)
        self._heap: List[Tuple[float, int, str, str, str]] = []
        self._heap_counter = 0
        self.handlers: Dict[str, EventHandler] = {}

    def register(self, kind: str, handler: EventHandler) -> None:
        """Route events of `kind` to `handler`, and queue that kind's events stored by an earlier run."""
        self.handlers[kind] = handler
        for obj in self.store.all(kind):
            if obj.get("_next"):
                self._push(kind, obj)

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        """The next id: the n-th since the last reset, masked by the reset count (see sandbox/README.md, Ids).

        Unmasked, it is what a fresh database with this seed hands out n-th; the mask makes it unique
        across resets, so an id held from before a reset never names a new object.
        """
        self._id_counter += 1
        self.store.set_meta("id_counter", str(self._id_counter))
        generator = random.Random(f"id:{self.seed}:{self._id_counter}")
        fresh = uuid.UUID(int=generator.getrandbits(128), version=4).int
        return str(uuid.UUID(int=fresh ^ self._generation_mask()))

    def _generation_mask(self) -> int:
        if self._generation == 0:
            return 0
        return random.Random(f"generation:{self.seed}:{self._generation}").getrandbits(128) & _RANDOM_BITS

    def rng(self, *parts: Any) -> random.Random:
        """A generator seeded by the seed and `parts`; ids in `parts` count by their fresh-database form,
        so the same requests after a reset draw the same outcomes as on a fresh database."""
        return random.Random(":".join([str(self.seed)] + [self._draw_name(p) for p in parts]))

    def _draw_name(self, part: Any) -> str:
        text = str(part)
        if self._generation == 0 or len(text) != 36:
            return text
        try:
            value = uuid.UUID(text).int
        except ValueError:
            return text
        return str(uuid.UUID(int=value ^ self._generation_mask()))

    def account(self, api_key: str) -> Optional[Account]:
        return self.accounts.get(api_key)

    def owned(self, kind: str, account: Account, object_id: str) -> dict:
        """The object if it exists and belongs to this key; 404 otherwise (another key's objects are absent)."""
        obj = self.store.get(kind, object_id)
        if obj is None or obj.get("_key") != account.api_key:
            raise not_found()
        return obj

    def schedule(self, kind: str, obj: dict, at: Optional[datetime], event: str = "") -> None:
        obj["_next"] = None if at is None else [at.timestamp(), event]
        self.store.touch(kind, obj)
        if at is not None:
            self._push(kind, obj)

    def _push(self, kind: str, obj: dict) -> None:
        self._heap_counter += 1
        at, event = obj["_next"]
        heapq.heappush(self._heap, (at, self._heap_counter, kind, obj["id"], event))

    def run_until(self, target: datetime) -> None:
        """Apply every due event in time order (events may schedule further events before target)."""
        limit = target.timestamp()
        budget = MAX_EVENTS_PER_RUN
        while self._heap and self._heap[0][0] <= limit and budget > 0:
            budget -= 1
            at, _, kind, object_id, event = heapq.heappop(self._heap)
            obj = self.store.get(kind, object_id)
            if obj is None or obj.get("_next") != [at, event]:
                continue  # superseded by a later reschedule
            obj["_next"] = None
            self.store.touch(kind, obj)
            self.handlers[kind](obj, event, from_epoch(at), target)
        self.store.set_meta("clock_now", format_time(target))

    def sync(self) -> datetime:
        """Bring the simulation to the present; the caller holds the lock."""
        moment = self.now()
        self.run_until(moment)
        return moment

    def reset(self) -> None:
        self.store.clear()
        self._heap.clear()
        self._id_counter = 0
        self.store.set_meta("id_counter", "0")
        self._generation += 1
        self.store.set_meta("id_generation", str(self._generation))
        self.clock.reset()
        self.store.set_meta("clock_now", format_time(self.clock.now()))
        self.store.commit()
