"""Rasa tracker store: Rasa's SQL store without reloading and rewriting the history every turn.

Rasa's ``SQLTrackerStore`` (3.6), on every message, reads every event of the conversation
session back from the database (a sub-query for the latest session start, one row each),
parses their JSON and replays them into a new tracker; saving counts those rows again to
find the new ones. A turn's cost grows with the conversation (issue 11: 0.19 s at the
start, 0.6-0.9 s after 200 messages).

This store keeps the table, the rows and the semantics (one row per event, the latest
session on ``retrieve``, every session on ``retrieve_full_tracker``), and adds:

* a per-process cache of recently used trackers. ``retrieve`` checks with one indexed
  query that the database holds no event for the conversation newer than the cached
  tracker's last one (another instance, a restart, or a turn that failed half-way all make
  it reload), so several Rasa instances on one database stay correct;
* ``save`` inserts only the events appended since the tracker was read or last saved
  (found by identity from the end, not by counting rows) in one batch;
* an index on ``(sender_id, id)`` for those queries;
* PostgreSQL work on a worker thread, so one slow query does not stall other conversations
  (SQLite queries on the local file take less than the thread hop and run inline);
* a bounded working history: the tracker Rasa works on holds the last ``keep_turns`` to
  ``2 * keep_turns`` merchant turns, preceded by a snapshot of the state before them (one
  ``SlotSet`` per slot that differs from its initial value, the active form, a pause).
  Policies featurise, and every action call serialises, the whole tracker several times per
  turn; with this their cost stops growing with the conversation. Slots, the form and every
  recent turn are exactly as in the full history, so rules (a few turns long) and
  memoization (``max_history`` 5) decide the same. Nothing is lost: the database keeps every
  event, only new events are written, and ``retrieve_full_tracker`` (the HTTP API) reads them
  all. What an action sees of ``tracker.events`` is the recent turns only.

Runs inside Rasa's environment (.venv-rasa: rasa 3.6, SQLAlchemy 1.4). Configured by
``bot.rasa.project.tracker_store_config`` (``type: bot.rasa_ext.tracker_store.CachingSQLTrackerStore``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    ConversationPaused,
    Event,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

log = logging.getLogger(__name__)

INDEX_NAME = "ix_events_sender_id_id"


@dataclass
class _Cached:
    tracker: DialogueStateTracker
    last_id: int  # id of the newest stored event of this conversation when cached
    last_event: Event | None  # the tracker's newest event then (identity marks unsaved changes)


class CachingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with a validated per-process tracker cache and append-only saves."""

    def __init__(
        self, *args: Any, cache_size: int = 1000, keep_turns: int = 8, sqlite_synchronous: str = "NORMAL", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._sqlite_pragmas(str(sqlite_synchronous).upper())
        else:
            self._pre_ping()
        self.cache_size = int(cache_size)
        self.keep_turns = max(6, int(keep_turns))  # rules and memoization look back at most 5 turns
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._table = self.SQLEvent.__table__
        self._inline = self.engine.dialect.name == "sqlite"
        self._ensure_index()

    # --- schema -------------------------------------------------------------------------
    def _sqlite_pragmas(self, synchronous: str) -> None:
        """The app's SQLite settings (bot/core/db.py) on Rasa's connections to the same file, kept open.

        SQLAlchemy 1.4 opens a new SQLite connection for every use of a file database
        (NullPool): py-spy showed connecting and its pragmas as the store's largest cost.
        """
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, got {synchronous!r}")
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=4,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    def _pre_ping(self) -> None:
        """Test pooled connections before use (Rasa's engine does not).

        After PostgreSQL restarts, every pooled connection is dead; without the ping the
        next turn fails on one and Rasa's REST channel answers it with no messages at all.
        With it, the connection is replaced and the turn goes through (tests/e2e/test_pg_restart.py).
        """
        from rasa.core.tracker_store import create_engine_kwargs

        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _ensure_index(self) -> None:
        index = sa.Index(INDEX_NAME, self._table.c.sender_id, self._table.c.id)
        try:
            index.create(self.engine, checkfirst=True)
        except sa.exc.DBAPIError as e:  # another instance created it at the same moment
            log.debug("index %s not created: %s", INDEX_NAME, e)

    # --- queries (on a worker thread, SQLite inline) ----------------------------------------
    async def _db(self, fn: Any, *args: Any) -> Any:
        return fn(*args) if self._inline else await asyncio.to_thread(fn, *args)

    def _latest_id(self, sender_id: str) -> int:
        t = self._table
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.max(t.c.id)).where(t.c.sender_id == sender_id)).scalar() or 0

    def _load(self, sender_id: str, all_sessions: bool) -> tuple[list[dict[str, Any]], int]:
        """Events of the latest session (or of all sessions) and the newest event id."""
        t = self._table
        with self.engine.connect() as c:
            query = sa.select(t.c.id, t.c.data).where(t.c.sender_id == sender_id)
            if not all_sessions:
                # Rasa's rule: events stamped at or after the latest session start
                start = c.execute(
                    sa.select(sa.func.max(t.c.timestamp)).where(
                        t.c.sender_id == sender_id, t.c.type_name == SessionStarted.type_name
                    )
                ).scalar()
                if start is not None:
                    query = query.where(t.c.timestamp >= start)
            rows = c.execute(query.order_by(t.c.id)).all()
        return [json.loads(r.data) for r in rows], (rows[-1].id if rows else 0)

    def _insert(self, sender_id: str, events: list[Event]) -> int:
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        t = self._table
        with self.engine.begin() as c:
            if rows:
                c.execute(t.insert(), rows)
            return c.execute(sa.select(sa.func.max(t.c.id)).where(t.c.sender_id == sender_id)).scalar() or 0

    # --- cache ----------------------------------------------------------------------------
    def _remember(self, tracker: DialogueStateTracker, last_id: int) -> None:
        events = tracker.events
        self._cache[tracker.sender_id] = _Cached(tracker, last_id, events[-1] if events else None)
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    @staticmethod
    def _unchanged(entry: _Cached) -> bool:
        events = entry.tracker.events
        return (events[-1] if events else None) is entry.last_event

    # --- bounded working history ------------------------------------------------------------
    def _bounded(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The same conversation state over at most ``2 * keep_turns`` recent turns (same event objects)."""
        events = list(tracker.events)
        users = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
        if len(users) <= 2 * self.keep_turns:
            return tracker
        cut = users[-self.keep_turns]
        # start at the listen before that message: the turn begins there
        if (
            cut > 0
            and isinstance(events[cut - 1], ActionExecuted)
            and events[cut - 1].action_name == ACTION_LISTEN_NAME
        ):
            cut -= 1
        before = DialogueStateTracker.from_events(tracker.sender_id, events[:cut], self.domain.slots)
        at = events[cut].timestamp
        snapshot: list[Event] = [
            SlotSet(name, slot.value, timestamp=at)
            for name, slot in before.slots.items()
            if slot.value != slot.initial_value
        ]
        loop = before.active_loop
        if loop is not None and loop.name:
            snapshot.append(ActiveLoop(loop.name, timestamp=at))
            if loop.is_interrupted:
                snapshot.append(LoopInterrupted(True, timestamp=at))
            if loop.rejected:
                snapshot.append(ActionExecutionRejected(loop.name, timestamp=at))
        if before.is_paused():
            snapshot.append(ConversationPaused(timestamp=at))
        bounded = DialogueStateTracker.from_events(tracker.sender_id, snapshot + events[cut:], self.domain.slots)
        bounded.model_id, bounded.assistant_id = tracker.model_id, tracker.assistant_id
        return bounded

    # --- TrackerStore API -----------------------------------------------------------------
    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        entry = self._cache.get(sender_id)
        if entry is not None:
            if self._unchanged(entry) and await self._db(self._latest_id, sender_id) == entry.last_id:
                self._cache.move_to_end(sender_id)
                entry.tracker = self._bounded(entry.tracker)  # the same events: the marker still holds
                return entry.tracker
            self._cache.pop(sender_id, None)
        events, last_id = await self._db(self._load, sender_id, False)
        if not (self.domain and events):
            return None
        tracker = self._bounded(DialogueStateTracker.from_dict(sender_id, events, self.domain.slots))
        self._remember(tracker, last_id)
        return tracker

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session, read afresh (the HTTP API's tracker view; never cached or saved incrementally)."""
        events, _ = await self._db(self._load, conversation_id, True)
        if not (self.domain and events):
            return None
        return DialogueStateTracker.from_dict(conversation_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        entry = self._cache.get(tracker.sender_id)
        new = self._events_after(tracker, entry.last_event) if entry and entry.tracker is tracker else None
        if new is not None:
            last_id = await self._db(self._insert, tracker.sender_id, new)
            if any(isinstance(e, SessionStarted) for e in new):
                # a new session began: read it back alone next time, as Rasa does
                self._cache.pop(tracker.sender_id, None)
            else:
                self._remember(tracker, last_id)
            return

        # A tracker this store did not hand out (a new conversation, or one the HTTP API built
        # from every session): Rasa's own rule, the events beyond those stored for the latest
        # session. A new conversation is cached from here on; anything else is read afresh next time.
        def stored() -> int:
            with self.session_scope() as session:
                return self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()

        count = await self._db(stored)
        last_id = await self._db(self._insert, tracker.sender_id, list(tracker.events)[count:])
        if count == 0 and not any(isinstance(e, SessionStarted) for e in tracker.events):
            self._remember(tracker, last_id)
        else:
            self._cache.pop(tracker.sender_id, None)

    @staticmethod
    def _events_after(tracker: DialogueStateTracker, marker: Event | None) -> list[Event] | None:
        """Events appended after ``marker`` (None: the marker is not in the history)."""
        if marker is None:
            return list(tracker.events)
        new: list[Event] = []
        for event in reversed(tracker.events):
            if event is marker:
                return new[::-1]
            new.append(event)
        return None
