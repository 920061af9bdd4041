"""The Redis client for ``--redis``: one server, a Redis Cluster, or a primary that Sentinels name.

Every client fails fast (one immediate reconnect, at most one reinitialisation of a
cluster's map), so that callers retry with their own backoff and report outages. The
redis package is imported only when a client is made.
"""

from __future__ import annotations

from typing import Any

from tailsse.config import redis_target

CONNECT_TIMEOUT = 2.0
# A web node holds one connection per watched stream (its XREAD BLOCK), to the node that has it.
CLUSTER_MAX_CONNECTIONS = 10_000


def redis_client(url: str, **kwargs: Any) -> Any:
    """An asyncio client for ``url``, whatever its kind; ``kwargs`` go to every connection."""
    try:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:
        raise RuntimeError("Redis support needs the redis package: pip install 'tailsse[redis]'") from None
    target = redis_target(url)
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT, "retry": Retry(NoBackoff(), 1)}
    options.update(kwargs)
    if target.kind == "server":
        return aioredis.Redis.from_url(url, **options)
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    if target.kind == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            max_connections=CLUSTER_MAX_CONNECTIONS,
            ssl=target.tls,
            **auth,
            **options,
        )
    from redis.asyncio.sentinel import Sentinel as SentinelClass

    Sentinel: Any = SentinelClass  # its constructor has no annotations

    tls: dict[str, Any] = {"ssl": True} if target.tls else {}
    # The credentials in the URL are the primary's; Sentinels are asked without any.
    sentinels = Sentinel(
        list(target.nodes),
        sentinel_kwargs={
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": CONNECT_TIMEOUT,
            "retry": Retry(NoBackoff(), 0),  # a Sentinel that is down: ask the next one now
            **tls,
        },
    )
    return sentinels.master_for(target.service, db=target.db, **auth, **tls, **options)


async def close_client(client: Any) -> None:
    """Close a client from :func:`redis_client` (and, for Sentinel, its connections to the Sentinels)."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    if manager is not None:
        await manager.aclose()


async def xread(client: Any, key: str, after: str, count: int, block_ms: int) -> Any:
    """XREAD of one stream; on a cluster sent straight to the node holding it.

    (A cluster client would otherwise ask a node for the keys of every XREAD first.)
    """
    route: dict[str, Any] = {}
    locate = getattr(client, "get_node_from_key", None)
    if locate is not None:
        try:
            node = locate(key)
        except Exception:  # the map is being rebuilt: let the client find the node itself
            node = None
        if node is not None:
            route["target_nodes"] = node
    return await client.execute_command(
        "XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", key, after, **route
    )
