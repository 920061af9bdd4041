"""Which files are served, and the URL-safe name each one gets.

Names are identifiers, never paths: a request names a file only by looking it up in
the table built here from the command line.
"""

from __future__ import annotations

import glob
import os
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A URL-safe form of a file name."""
    name = _UNSAFE.sub("_", text).lstrip(".")[:128]
    return name or "file"


def expand(paths: tuple[str, ...] | list[str]) -> list[str]:
    """Turn PATH arguments (files, globs, directories) into absolute file paths."""
    out: list[str] = []
    for arg in paths:
        if glob.has_magic(arg):
            matches = sorted(glob.glob(arg))
            out.extend(m for m in matches if os.path.isfile(m))
        elif os.path.isdir(arg):
            entries = sorted(os.listdir(arg))
            out.extend(os.path.join(arg, e) for e in entries if os.path.isfile(os.path.join(arg, e)))
        else:
            out.append(arg)
    seen: dict[str, None] = {}
    for path in out:
        seen.setdefault(os.path.abspath(path), None)
    return list(seen)


def name_files(paths: list[str]) -> dict[str, str]:
    """Give each path a unique name: its basename, or parent-basename when that clashes."""
    base = [safe_name(os.path.basename(p)) for p in paths]
    names: dict[str, str] = {}
    for path, name in zip(paths, base, strict=True):
        if base.count(name) > 1:
            parent = os.path.basename(os.path.dirname(path))
            name = safe_name(f"{parent}-{name}") if parent else name
        candidate, n = name, 2
        while candidate in names:
            candidate = f"{name}-{n}"
            n += 1
        names[candidate] = path
    return names


def is_dynamic(arg: str) -> bool:
    """Whether a PATH argument can match more files later (a glob or a directory)."""
    return glob.has_magic(arg) or os.path.isdir(arg)


def dynamic_root(arg: str) -> str:
    """The directory to watch for new files matching a PATH argument."""
    if not glob.has_magic(arg):
        return os.path.abspath(arg)
    head = arg
    while glob.has_magic(head):
        head = os.path.dirname(head)
    return os.path.abspath(head or ".")


def unique_name(path: str, taken: set[str]) -> str:
    """A name for a file added later that clashes with none already given."""
    name = safe_name(os.path.basename(path))
    if name in taken:
        parent = os.path.basename(os.path.dirname(path))
        name = safe_name(f"{parent}-{name}") if parent else name
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}-{n}"
        n += 1
    return candidate
