"""Turns of the event loop: the I/O that is waiting goes before the rest of a long answer."""

from __future__ import annotations

import asyncio


async def give_way() -> None:
    """Let the loop handle the I/O that is ready now (a live line's write, say) first.

    One ``sleep(0)`` is not enough: asyncio runs what was scheduled before it polls, so
    the rest of this task would still run before the I/O that the poll finds. The second
    one is scheduled by then, after that I/O's callbacks. Each costs a turn of the loop.
    """
    await asyncio.sleep(0)
    await asyncio.sleep(0)
