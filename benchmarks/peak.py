"""``python peak.py OUT.json CMD [ARG ...]``: run CMD, write its wall seconds and peak RSS to OUT.

Started fresh by :func:`benchmarks.common.measure`, so the peak RSS that Linux carries over an
``exec`` is this small interpreter's, not the benchmark process's. The peak (``ru_maxrss``) is the
largest of CMD and the children it waited for; the time excludes this wrapper's own start-up.
"""

import json
import os
import sys
import time


def main(out: str, argv: list[str]) -> int:
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(out, "w") as file:
        json.dump({"seconds": seconds, "peak_kib": usage.ru_maxrss}, file)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
