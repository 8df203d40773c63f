"""Writing files so that nothing is ever half-written: the one home of scratchcnn's atomic writes.

    with atomic_write(path) as f:      # f is a binary file under a temporary name beside ``path``
        f.write(...)                   # on success it is flushed, synced and renamed onto ``path``

A crash, an error or a kill at any moment leaves either the old file or the new one, never a mix. The new
file gets the permissions an ordinary ``open`` would give it (the umask's), or those of the file it
replaces, not the 0600 of a private temporary file.
"""
import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)      # replacing a file: keep its permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask                          # a new file: what open() would have made


@contextlib.contextmanager
def atomic_write(path):
    """Context manager yielding a binary file that becomes ``path`` only if the block succeeds.

    An OSError on the way (a full disk, a read-only folder) is raised with ``path`` as its filename, not
    the temporary file's name, so the message says which file could not be written."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as error:
        if error.errno is None or error.filename == str(path):
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, data) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path) as file:
        file.write((json.dumps(data, indent=2) + "\n").encode())
