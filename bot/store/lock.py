"""One process per state directory: an exclusive lock taken before the journal, or anything else, is opened.

Two daemons on one state directory share one journal and one account, and each trades on a picture the other
falsifies (issue 14). `hedgebot run` holds `<state_dir>/hedgebot.lock` and `hedgebot backtest`
`<state_dir>/backtest.lock` for as long as they run; a second one is refused at once, in one line naming the
file and the PID that holds it.

The lock is `flock(2)` on an open descriptor, so the kernel drops it when its process ends, however it ends:
a SIGKILL or a power cut never leaves a lock that blocks the restart. The PID written into the file is only
for the message; a stale PID left there by a dead process means nothing. The file is never deleted: unlinking
a locked path would let the next process lock a new file while a third still holds the old one.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["StateLock", "StateLocked", "hold", "state_lock"]

_PID_BYTES = 32  # a PID and a newline; anything longer in the file is not one of ours


class StateLocked(Exception):
    """Another process holds the lock; the message is one line naming the file and its PID."""


class StateLock:
    """A held lock; `release` (or the end of the process) lets the next holder in."""

    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Closing the descriptor drops the lock; the PID stays in the file (harmless, see the module doc)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def state_lock(path: Path) -> StateLock:
    """Take the exclusive lock on `path` (creating its directory and the file), or raise StateLocked at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC: a program this process executes must not inherit, and so keep, the lock after we are gone.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd)
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise StateLocked(f"{path}: cannot lock the state directory ({exc.strerror or exc})") from None
        raise StateLocked(
            f"{path} is held by another hedgebot ({holder}) on this state directory; one process per state"
            " directory: stop that one first, or give this one another bot.state_dir"
        ) from None
    _write_pid(fd)
    return StateLock(path, fd)


@contextmanager
def hold(path: Path) -> Iterator[StateLock]:
    """The lock on `path` for the duration of a `with` block."""
    lock = state_lock(path)
    try:
        yield lock
    finally:
        lock.release()


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _holder(fd: int) -> str:
    """'PID 1234', or why there is none: the holder may be between taking the lock and writing its PID."""
    text = os.pread(fd, _PID_BYTES, 0).decode("ascii", "replace").strip()
    return f"PID {text}" if text.isdecimal() and text.isascii() else "PID not yet written: it is starting"
