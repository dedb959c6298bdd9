"""Crash points for the fault tests: a real SIGKILL of this process at a named step.

``NOTARY_CRASH_AT="tx_sent:0.3,batch_recorded:0.2"`` kills the process with probability 0.3
right after an anchor transaction is sent, and so on. Unset (always, in production) it costs one
dictionary lookup. The kill is real (no exception, no cleanup), which is what a power cut or an
OOM kill does; the tests use it to reach steps a timer cannot hit reliably.
"""

from __future__ import annotations

import os
import random
import signal

_POINTS: dict[str, float] = {}
for _item in filter(None, os.environ.get("NOTARY_CRASH_AT", "").split(",")):
    _name, _, _p = _item.partition(":")
    _POINTS[_name.strip()] = float(_p or 1.0)


def crash_point(name: str) -> None:
    """Die here (SIGKILL) if the crash tests asked for it."""
    p = _POINTS.get(name)
    if p is not None and random.random() < p:
        os.kill(os.getpid(), signal.SIGKILL)
