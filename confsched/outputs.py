"""How confsched writes a file: whole or not at all, never through a link, and a one-line error.

Every file a command writes (the LR table in CSV, NPZ or Parquet, the PNG figures, a sweep's
report) goes through :func:`replacing`:

1. If ``path`` is a symbolic link, nothing is written: a link planted at ``out/lr_schedule.csv``
   could otherwise make confsched overwrite any file the user can write (:class:`OutputError`).
2. The content goes to a temporary file in the same directory (``.<name>.<random><suffix>``), and
   only a complete file is renamed onto ``path`` (``os.replace``: atomic on POSIX, and it replaces
   a link made in the meantime instead of following it). A reader sees the old file or the new
   one, never half of one.
3. Any exception on the way, a ``KeyboardInterrupt`` included, removes the temporary file: an
   interrupted run leaves no partial file.
4. An ``OSError`` (a full disk ``ENOSPC``, a file too large ``EFBIG``, a read-only file system
   ``EROFS``, a directory without write permission ``EACCES``) becomes one line naming the path::

       error: out/lr_schedule.csv: cannot write: No space left on device (ENOSPC)

:func:`quiet_stdout` is what a command does when the reader of its output has gone
(``confsched schema | head -1``): stop writing, quietly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from confsched.errors import ConfschedError

__all__ = ["OutputError", "PipeSafe", "quiet_stdout", "refuse_link", "replacing", "shown", "size_text"]


class OutputError(ConfschedError):
    """A file confsched was asked to write could not be written (its path is the file's)."""


def shown(path: str | Path) -> str:
    """``path`` as the messages name it: relative to the working directory when it is inside it."""
    path = Path(path)
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _failure(path: Path, error: OSError) -> OutputError:
    """``out/x.csv: cannot write: No space left on device (ENOSPC)``."""
    code = errno.errorcode.get(error.errno or 0, "")
    reason = error.strerror or str(error) or type(error).__name__
    return OutputError("", f"cannot write: {reason}" + (f" ({code})" if code else ""), source=shown(path))


def refuse_link(path: Path) -> None:
    """One line, and nothing written, when ``path`` is a symbolic link (dangling or not)."""
    if path.is_symlink():
        raise OutputError(
            "",
            f"is a symbolic link (to {os.readlink(path)}); confsched does not write through links: "
            "remove it or choose another output directory",
            source=shown(path),
        )


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success rename it onto ``path``.

    The temporary file has ``path``'s suffix (so a writer that picks the format from the name
    picks the same one) and the permissions a new file would have (``0o666`` less the umask). On
    any exception it is removed; an ``OSError`` is raised as :class:`OutputError`.
    """
    path = Path(path)
    refuse_link(path)
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _failure(path, exc) from None
    scratch = Path(name)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())
        os.close(descriptor)
        yield scratch
        os.replace(scratch, path)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        raise _failure(path, exc) from None
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def size_text(size: int) -> str:
    """``312 B``, ``4.1 kB``, ``80.0 MB``: a file's size in decimal units."""
    for scale, unit in ((10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def quiet_stdout() -> None:
    """The reader of stdout has gone (a closed pipe): send what is left to ``/dev/null``, so neither
    the next write nor the interpreter's flush at exit raises or prints a traceback."""
    with contextlib.suppress(OSError, ValueError):  # stdout is not a file descriptor (a test's capture)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class PipeSafe:
    """A text stream (``sys.stdout``) whose writes end quietly when the reader has gone: Hydra
    prints its help, ``--cfg`` and shell-completion scripts itself and reports a ``BrokenPipeError``
    with a traceback, so the console script gives Hydra this stream instead of the bare one."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            quiet_stdout()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            quiet_stdout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
