"""Who may read: a shared token and/or HTTP basic users with hashed passwords.

Pure functions and one small class; nothing here knows about Tornado. Every secret is
compared with ``hmac.compare_digest`` so the time taken says nothing about how much of
a guess was right.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from tailsse.config import check_token

TOKEN_ENV = "TAILSSE_TOKEN"
COOKIE_NAME = "tailsse_auth"
# scrypt cost: about 16 MiB and a few tens of milliseconds per check on a current CPU.
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 14, 8, 1
PBKDF2_MIN_ITERATIONS = 100_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of a password, as ``$scrypt$ln=14,r=8,p=1$SALT$HASH``."""
    salt = salt if salt is not None else os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    return f"$scrypt$ln={SCRYPT_LOG_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether a password matches a hash made by :func:`hash_password` (or PBKDF2-SHA256)."""
    try:
        scheme, params, salt, digest = _split_hash(encoded)
    except ValueError:
        return False
    if scheme == "scrypt":
        computed = _scrypt(password, salt, params["ln"], params["r"], params["p"])
    else:
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, params["i"], len(digest))
    return hmac.compare_digest(computed, digest)


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 1 << log_n
    # OpenSSL refuses by default when 128*n*r exceeds 32 MiB; allow what the hash asks for.
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=130 * n * r + (1 << 20), dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _split_hash(encoded: str) -> tuple[str, dict[str, int], bytes, bytes]:
    """Parse ``$scheme$k=v,...$salt$hash``; ValueError when it is not one we accept."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] not in ("scrypt", "pbkdf2-sha256"):
        raise ValueError("not a $scrypt$ or $pbkdf2-sha256$ hash")
    try:
        params = {k: int(v) for k, v in (item.split("=", 1) for item in parts[2].split(","))}
        salt, digest = _unb64(parts[3]), _unb64(parts[4])
    except (ValueError, binascii.Error):
        raise ValueError("malformed hash") from None
    if parts[1] == "scrypt":
        # Bounds keep a hostile users file from making every login take forever.
        if set(params) != {"ln", "r", "p"} or not (10 <= params["ln"] <= 20 and 1 <= params["r"] <= 32):
            raise ValueError("scrypt parameters must be ln (10-20), r (1-32) and p")
        if not 1 <= params["p"] <= 16:
            raise ValueError("scrypt p must be 1-16")
    elif set(params) != {"i"} or not PBKDF2_MIN_ITERATIONS <= params["i"] <= 10_000_000:
        raise ValueError(f"pbkdf2-sha256 needs i from {PBKDF2_MIN_ITERATIONS} to 10000000")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("salt or hash too short")
    return parts[1], params, salt, digest


def read_users(path: str) -> tuple[tuple[str, str], ...]:
    """Parse a users file: ``user:hash`` per line; blank lines and ``#`` comments skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"--users-file: cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        if not sep or not user:
            raise ValueError(f"--users-file: {path}:{number}: expected user:hash")
        try:
            _split_hash(encoded)
        except ValueError as exc:
            raise ValueError(f"--users-file: {path}:{number}: {exc}") from None
        users[user] = encoded
    if not users:
        raise ValueError(f"--users-file: {path} has no users")
    return tuple(users.items())


def read_token(path: str) -> str:
    """The shared token kept in a file (its first line, without surrounding spaces)."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"--token-file: cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return check_token(token, f"--token-file {path}")


class Authenticator:
    """Checks credentials against a token and/or a table of users."""

    CACHE_SIZE = 256

    def __init__(self, token: str = "", users: tuple[tuple[str, str], ...] = ()) -> None:
        self.token = token.encode()
        self.users = dict(users)
        self.enabled = bool(token or users)
        # Keyed per process so the cache never holds anything a password could be found from.
        self._key = os.urandom(32)
        self._good: OrderedDict[bytes, None] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        # Checked for unknown users; made only when there are users (hashing takes a while).
        self._dummy = hash_password(secrets.token_hex(8)) if users else ""
        # What the cookie holds: derived from the token, so the token itself never sits in a browser.
        self.cookie_value = (
            hmac.new(self.token, b"tailsse cookie v1", hashlib.sha256).hexdigest() if token else ""
        )

    def token_ok(self, candidate: str) -> bool:
        """Whether a presented token is the token."""
        if not self.token:
            return False
        # Digests first: compare_digest returns early on a length mismatch, which would tell the length.
        given = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(given, hashlib.sha256(self.token).digest())

    def cookie_ok(self, candidate: str) -> bool:
        """Whether a cookie value was issued for the current token."""
        return bool(self.cookie_value) and hmac.compare_digest(candidate.encode(), self.cookie_value.encode())

    def basic_cached(self, user: str, password: str) -> bool:
        """Whether this user and password were verified before (cheap, no hashing)."""
        return self._cache_key(user, password) in self._good

    def verify(self, user: str, password: str) -> bool:
        """Check a user's password; slow on purpose and thread-safe: run it off the event loop."""
        # An unknown user costs as much as a known one, so timing does not tell users apart.
        encoded = self.users.get(user, self._dummy)
        return verify_password(password, encoded) and user in self.users

    def remember(self, user: str, password: str) -> None:
        """Note a verified user and password, so the next request needs no hashing."""
        self._good[self._cache_key(user, password)] = None
        while len(self._good) > self.CACHE_SIZE:
            self._good.popitem(last=False)

    async def verify_async(self, user: str, password: str) -> bool:
        """verify() on a small thread pool, remembered when right; call on the event loop."""
        if self._pool is None:
            # Two threads bound how much CPU a flood of wrong passwords can take.
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tailsse-auth")
        ok = await asyncio.get_running_loop().run_in_executor(self._pool, self.verify, user, password)
        if ok:
            self.remember(user, password)
        return ok

    def _cache_key(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()


def parse_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic`` value, or None."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def parse_bearer(header: str) -> str | None:
    """The token from an ``Authorization: Bearer`` value, or None."""
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
