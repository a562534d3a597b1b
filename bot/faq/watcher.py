"""Hot reload of the FAQ knowledge base: where the KB comes from and the thread that polls it.

A source has ``kind``, ``fingerprint()`` (cheap: changes whenever the KB may have changed) and
``load()`` (the KB). ``FileSource`` is the YAML files of a directory (names, mtimes, sizes);
``bot.faq.store.DbSource`` is the database's KB revision. ``Watcher`` remembers the last
fingerprint seen and polls the source in a daemon thread, calling the engine's reload when
the fingerprint moved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Protocol

from bot.faq.kb import KnowledgeBase
from bot.faq.loader import kb_files, load_kb

log = logging.getLogger(__name__)


class KbSource(Protocol):
    kind: str

    def fingerprint(self) -> Hashable: ...

    def load(self) -> KnowledgeBase: ...


class FileSource:
    """The KB as YAML files in ``faq_dir``: the fingerprint is every file's name, mtime and size."""

    kind = "files"

    def __init__(self, faq_dir: Path):
        self.faq_dir = Path(faq_dir)

    def fingerprint(self) -> tuple:
        try:
            files = kb_files(self.faq_dir)
        except OSError:
            return ()
        out = []
        for p in files:
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def load(self) -> KnowledgeBase:
        return load_kb(self.faq_dir)


class Watcher:
    """The source's last seen fingerprint, and a daemon thread that calls ``check`` every interval."""

    def __init__(self, source: KbSource, *, look: bool = True):
        """``look=False``: start from an empty fingerprint (an in-memory engine that is never watched)."""
        self.source = source
        self.seen: Hashable = source.fingerprint() if look else ()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def look(self) -> Hashable:
        """The source's current fingerprint."""
        return self.source.fingerprint()

    def changed(self) -> bool:
        return self.look() != self.seen

    def start(self, check: Callable[[], object], interval_s: float) -> None:
        """Call ``check`` every ``interval_s`` seconds until ``stop``; errors are logged and retried."""
        if self.alive:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    check()
                except Exception:  # a watcher that dies silently would stop all future reloads
                    log.exception("FAQ hot reload failed; will retry")

        self._thread = threading.Thread(target=loop, name="faq-kb-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
