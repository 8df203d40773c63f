"""Ctrl-C during training: finish the batch, then stop cleanly.

``fit`` runs inside ``with CtrlC() as ctrl_c:``. There a first Ctrl-C (SIGINT) only sets
``ctrl_c.pressed``: the current batch finishes, ``fit`` puts back the weights of the last completed epoch
and raises ``TrainingInterrupted``. A second Ctrl-C raises KeyboardInterrupt at once, for a user who
really wants out (``fit`` still puts the weights back), except inside ``with ctrl_c.held():``, where it
waits for the end of the block: fit copies an epoch's weights over the previous epoch's there, and that
copy must not stop half-way.

Python only lets the main thread handle signals, so elsewhere (and where someone installed their own
SIGINT handler, or ignores SIGINT) nothing is changed. The previous handler is always put back.
"""
import contextlib
import signal
import threading


class CtrlC:
    def __init__(self):
        self.pressed = False
        self.previous = None
        self._holding = False   # inside held(): a second Ctrl-C waits
        self._waiting = False   # ... and one did

    def _handler(self, signum, frame):
        if not self.pressed:
            self.pressed = True
        elif self._holding:
            self._waiting = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self):
        """Inside this block a second Ctrl-C does not stop the work half-way: it is raised when the block ends."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._waiting:
            self._waiting = False
            raise KeyboardInterrupt

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
