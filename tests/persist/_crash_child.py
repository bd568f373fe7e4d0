"""The crash loop's child: writes to a data dir and reports each acknowledgement on stdout.

``python _crash_child.py DATA_DIR FSYNC SEED FIRST_OPID`` opens the store and writes until it
is killed (or until a bound), printing after each call returns ``OPID KIND REVISION``:

* ``put``: ``p/<opid>`` was put; ``del``: ``p/<victim>``, put earlier in this run, was deleted
  (the line ends with the victim's opid); ``txn``: ``t/<opid>/a``, ``/b`` and ``/c`` were put
  together; ``lease``: lease ``<opid>`` was granted (the revision is unchanged).
"""

from __future__ import annotations

import random
import sys

from etcdlite import Op, Store


def main() -> None:
    path, fsync, seed, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    store = Store(data_dir=path, fsync=fsync, snapshot_count=rng.choice([5, 50, 100_000]))
    out = sys.stdout
    mine: list[int] = []
    for opid in range(first, first + 100_000):
        kind = rng.random()
        if kind < 0.4:
            rev = store.put(f"p/{opid}", f"value {opid}").header.revision
            mine.append(opid)
            out.write(f"{opid} put {rev}\n")
        elif kind < 0.55 and mine:
            victim = mine.pop(rng.randrange(len(mine)))
            rev = store.delete(f"p/{victim}").header.revision
            out.write(f"{opid} del {rev} {victim}\n")
        elif kind < 0.9:
            ops = [Op.put(f"t/{opid}/{part}", str(opid)) for part in "abc"]
            rev = store.txn(compare=[], success=ops).header.revision
            out.write(f"{opid} txn {rev}\n")
        else:
            store.grant(3600, id=opid)
            out.write(f"{opid} lease {store.revision}\n")
        out.flush()


if __name__ == "__main__":
    main()
