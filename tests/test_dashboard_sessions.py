"""Sessions still open when the server stops close without a traceback, even when one of their
threads ends in the middle of the close (the race in Solara 1.58.2's shutdown).

Each case runs in a fresh interpreter: a Solara session needs Solara's server patches (threads,
widgets), which must not leak into the test process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# A server process with one open session, whose thread ends just after Solara's close copied its
# table of threads: the moment the race strikes.
SESSION = """
import asyncio, json, logging
import solara.server.app  # Solara's server patches, as under the dashboard
from solara.server import kernel, kernel_context
from sim.dashboard.sessions import close_sessions, sessions_closed_first

THREAD = "Thread-9 (runner)1"

class EndsDuringTheClose(dict):
    def copy(self):
        copied = dict(self)
        self.pop(THREAD, None)
        return copied

kernel_context.current_context = EndsDuringTheClose(kernel_context.current_context)
opened = kernel_context.VirtualKernelContext(id="open-session", kernel=kernel.Kernel(), session_id="s")
kernel_context.contexts[opened.id] = opened
kernel_context.current_context[THREAD] = opened
logged = []
logging.getLogger("solara").addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: logged.append(r.getMessage())})())

def state():
    return {"open": list(kernel_context.contexts), "closed": opened.closed_event.is_set(),
            "held": opened in kernel_context.current_context.values(), "reason": opened.close_reason,
            "logged": logged}
"""


def _run(case: str) -> dict:
    done = subprocess.run([sys.executable, "-c", SESSION + textwrap.dedent(case)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_solaras_own_close_fails_in_that_race() -> None:
    """The race is real: Solara's close raises, leaving the session marked open (its shutdown logs it)."""
    seen = _run("""
        try:
            opened.close(reason="server-shutdown")
            raised = None
        except KeyError as error:
            raised = str(error)
        print(json.dumps({"raised": raised, **state()}))
    """)
    assert seen["raised"] == "'Thread-9 (runner)1'" and not seen["closed"]


def test_close_sessions_finishes_the_close_in_that_race() -> None:
    seen = _run("""
        close_sessions()
        print(json.dumps(state()))
    """)
    assert seen == {"open": [], "closed": True, "held": False, "reason": "server-shutdown", "logged": []}


def test_the_lifespan_shutdown_closes_the_sessions_before_the_app_sees_it() -> None:
    seen = _run("""
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        async def receive():
            return next(messages)
        closing = sessions_closed_first(receive)
        first = asyncio.run(closing())
        after_startup = list(kernel_context.contexts)
        second = asyncio.run(closing())
        print(json.dumps({"messages": [first, second], "after_startup": after_startup, **state()}))
    """)
    assert seen["messages"] == [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    assert seen["after_startup"] == ["open-session"]
    assert (seen["open"], seen["closed"], seen["logged"]) == ([], True, [])
