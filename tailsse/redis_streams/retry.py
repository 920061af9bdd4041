"""The one way tailsse talks to Redis: retry through outages, with backoff, and say so.

An outage (the connection refused, dropped or timed out) is waited out: the call is
retried with exponential backoff, and the owner is told once when Redis goes away and
once when it answers again (to log it, or to tell viewers). Any other error is the
caller's to handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")
BACKOFF_MIN = 0.05


def outage_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean Redis cannot be reached (as opposed to refusing a command).

    For a cluster, also a node that cannot be reached yet or any more, a slot without a
    primary (CLUSTERDOWN while a replica takes over), TRYAGAIN during a slot move, and a
    map of the cluster that cannot be had.
    """
    from redis.exceptions import (
        ClusterError,
        ConnectionError,
        RedisClusterException,
        TimeoutError,
        TryAgainError,
    )

    return (ConnectionError, TimeoutError, OSError, ClusterError, TryAgainError, RedisClusterException)


class Retrying:
    """Runs calls on one client, waiting out outages; ``error`` says why Redis is unreachable."""

    def __init__(
        self,
        client: Redis,
        backoff_max: float,
        on_down: Callable[[str], None] = lambda error: None,
        on_up: Callable[[], None] = lambda: None,
        refusals: bool = False,
    ) -> None:
        self.client = client
        # Also wait out error replies (READONLY during a failover, OOM, LOADING…): for a
        # writer that must not move on before Redis has taken what it sent.
        self.refusals = refusals
        self.backoff_max = backoff_max
        self.on_down = on_down
        self.on_up = on_up
        self.error = ""  # why Redis cannot be reached, while it cannot
        self.closing = False  # once set, outages are raised instead of retried

    async def call(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """Run ``op(client)`` until it gets through."""
        errors = outage_errors()
        if self.refusals:
            from redis.exceptions import ResponseError

            errors += (ResponseError,)
        delay = BACKOFF_MIN
        while True:
            try:
                result = await op(self.client)
            except errors as exc:
                if self.closing:
                    raise
                self.down(str(exc) or type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            self.up()
            return result

    def down(self, error: str) -> None:
        """Redis failed: remember why; tell the owner when it had been answering."""
        was_up = not self.error
        self.error = error
        if was_up:
            self.on_down(error)

    def up(self) -> None:
        """Redis answered: tell the owner when it had not been."""
        if self.error:
            self.error = ""
            self.on_up()
