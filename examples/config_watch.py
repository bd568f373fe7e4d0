"""Configuration management: read the settings once, then follow every change with a watch.

An application keeps its settings under ``config/app/``. It reads them all in one request, then
watches the prefix from the revision after that read, so a change made between the read and the
watch is not lost: etcd's "get, then watch from ``header.revision + 1``" pattern. An operator
changes settings meanwhile, and the application applies each change as it arrives.

Run it: ``python examples/config_watch.py`` (well under a second).
"""

from __future__ import annotations

import threading

from etcdlite import EventType, Store

PREFIX = "config/app/"


class LiveConfig:
    """A dict of settings kept up to date from the store by a watch, in a thread of its own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings: dict[str, str] = {}
        self.revision = 0  # the store revision the settings reflect
        self.changed = threading.Condition()

    def load(self) -> None:
        """Read every setting at one revision."""
        r = self.store.get(PREFIX, prefix=True)
        self.settings = {kv.key.decode()[len(PREFIX) :]: kv.value.decode() for kv in r.kvs}
        self.revision = r.header.revision

    def follow(self) -> None:
        """Apply each change from the revision after the load until the watch is canceled."""
        self.watch = self.store.watch(PREFIX, prefix=True, start_revision=self.revision + 1)
        self.thread = threading.Thread(target=self._run, name="config-watch")
        self.thread.start()

    def _run(self) -> None:
        # iter(timeout=...) raises TimeoutError if the store goes quiet for 10 s: a bound, so a
        # bug cannot hang the example; a real service would simply iterate the watch.
        for resp in self.watch.iter(timeout=10):
            with self.changed:
                for event in resp.events:  # in revision order, each change exactly once
                    name = event.kv.key.decode()[len(PREFIX) :]
                    if event.type is EventType.PUT:
                        self.settings[name] = event.kv.value.decode()
                        print(f"  applied  {name} = {event.kv.value.decode()}")
                    else:
                        self.settings.pop(name, None)
                        print(f"  applied  {name} removed")
                if resp.events:
                    self.revision = resp.events[-1].kv.mod_revision
                self.changed.notify_all()

    def wait_for(self, revision: int) -> None:
        """Block until the settings reflect ``revision`` (10 s at most)."""
        with self.changed:
            ok = self.changed.wait_for(lambda: self.revision >= revision, timeout=10)
        assert ok, f"the watch did not reach revision {revision}"

    def stop(self) -> None:
        self.watch.cancel()  # ends the iteration in the thread
        self.thread.join(timeout=10)


def main() -> None:
    with Store() as store:
        store.put(PREFIX + "log_level", "info")
        store.put(PREFIX + "workers", "4")

        config = LiveConfig(store)
        config.load()
        print("loaded    ", config.settings, "at revision", config.revision)

        # A change lands after the load but before the watch exists: the watch starts at
        # load revision + 1, so it replays this put from history.
        store.put(PREFIX + "workers", "8")
        config.follow()

        # The operator's changes, while the application runs.
        store.put(PREFIX + "log_level", "debug")
        store.put(PREFIX + "feature/new_ui", "on")
        last = store.delete(PREFIX + "feature/new_ui").header.revision

        config.wait_for(last)
        config.stop()
        print("final     ", config.settings, "at revision", config.revision)

        # The live copy equals a fresh read at the same revision: nothing missed or repeated.
        fresh = LiveConfig(store)
        fresh.load()
        assert fresh.settings == config.settings
        print("matches a fresh read:", fresh.settings == config.settings)


if __name__ == "__main__":
    main()
