"""Close the open Solara sessions at shutdown, before Solara's own shutdown tries to.

Solara 1.58.2 ends each session's kernel at shutdown (``VirtualKernelContext.close``) by copying its
table of threads and deleting, one by one, the entries that point at the session. A session's
thread (the classroom's watchers, the dashboard's player) that ends in between removes its own
entry first, the delete raises ``KeyError``, and Solara prints "error closing kernel on shutdown"
with a traceback: the close is done but for that table and the session's closed flag. It happened
in about one stop in a hundred of the classroom's browser test.

``close_sessions`` closes the sessions first and, when that race strikes, finishes the two steps
the close left, so Solara's own loop finds no session left. Any other error is logged as Solara
logs it.
"""

from __future__ import annotations

import logging
from typing import Callable

LOGGER = logging.getLogger("solara.server.starlette")  # where Solara logs its own shutdown errors


def close_sessions() -> None:
    """Close every open Solara session, tolerating a session thread that ends during its close."""
    from solara.server import kernel_context

    for session in list(kernel_context.contexts.values()):
        try:
            session.close(reason="server-shutdown")
        except KeyError:
            if session.kernel is not None:  # not the race (it strikes once the kernel is closed): as Solara does
                LOGGER.exception("error closing kernel on shutdown")
                continue
            # A thread of the session removed its own entry mid-close: finish the close.
            for key, held in list(kernel_context.current_context.items()):
                if held is session:
                    kernel_context.current_context.pop(key, None)
            if kernel_context.contexts.get(session.id) is session:
                del kernel_context.contexts[session.id]
            session.closed_event.set()
        except Exception:  # noqa: BLE001 - as Solara's shutdown does: log it and close the others
            LOGGER.exception("error closing kernel on shutdown")


def sessions_closed_first(receive: Callable) -> Callable:
    """An ASGI lifespan ``receive`` that closes the sessions when the server's shutdown arrives,
    before the app (Solara's Starlette app) runs its own shutdown."""
    async def closing_receive() -> dict:
        message = await receive()
        if message.get("type") == "lifespan.shutdown":
            close_sessions()
        return message

    return closing_receive
