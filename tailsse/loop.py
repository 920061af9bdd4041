"""Turns of the event loop: the I/O that is waiting goes before the rest of a long answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def give_way() -> None:
    """Let the loop handle the I/O that is ready now (a live line's write, say) first.

    One ``sleep(0)`` is not enough: asyncio runs what was scheduled before it polls, so
    the rest of this task would still run before the I/O that the poll finds. The second
    one is scheduled by then, after that I/O's callbacks. Each costs a turn of the loop.
    """
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def after_io(callback: Callable[..., object], *args: object) -> None:
    """Run ``callback(*args)`` as a step of its own, after the I/O that is ready by then
    (two hops, for the reason :func:`give_way` gives)."""
    loop = asyncio.get_running_loop()
    loop.call_soon(loop.call_soon, callback, *args)
