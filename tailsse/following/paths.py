"""Which files are served, and the URL-safe name each one gets.

Names are identifiers, never paths: a request names a file only by looking it up in
the table built here from the command line.
"""

from __future__ import annotations

import glob
import os
import re
import stat

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A URL-safe form of a file name."""
    name = _UNSAFE.sub("_", text).lstrip(".")[:128]
    return name or "file"


def expand(paths: tuple[str, ...] | list[str]) -> list[str]:
    """Turn PATH arguments (files, globs, directories) into absolute file paths.

    A file found in a directory or by a glob is left out when it resolves (through
    symlinks) to somewhere outside that directory: serving a directory must not serve
    what a symlink in it points to elsewhere. A file named explicitly is always kept.
    """
    out: list[str] = []
    for arg in paths:
        if glob.has_magic(arg):
            root = dynamic_root(arg)
            matches = sorted(glob.glob(arg))
            out.extend(m for m in matches if _servable(m, root))
        elif os.path.isdir(arg):
            entries = [os.path.join(arg, e) for e in sorted(os.listdir(arg))]
            out.extend(e for e in entries if _servable(e, arg))
        else:
            out.append(arg)
    seen: dict[str, None] = {}
    for path in out:
        seen.setdefault(os.path.abspath(path), None)
    return list(seen)


def _servable(path: str, root: str) -> bool:
    """Whether a file found in a served directory may be served: inside it, and only there.

    A symlink that leads out is not; nor is a file with other hard links, which may be a
    link to anything on the same filesystem (name it on the command line to serve it).
    """
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and inside(path, root)


def name_files(paths: list[str]) -> dict[str, str]:
    """Give each path a unique name: its basename, or parent-basename when that clashes."""
    base = [safe_name(os.path.basename(p)) for p in paths]
    # Basenames that clash are all qualified, not only the second one.
    taken = {name for name in base if base.count(name) > 1}
    names: dict[str, str] = {}
    for path in paths:
        names[unique_name(path, taken | set(names))] = path
    return names


def inside(path: str, root: str) -> bool:
    """Whether ``path``, every symlink resolved, is within directory ``root`` (resolved too)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real.startswith(real_root.rstrip(os.sep) + os.sep)


def confining_root(path: str, args: tuple[str, ...] | list[str]) -> str | None:
    """The served directory a file must stay inside, or None when a PATH names it outright."""
    path = os.path.abspath(path)
    if any(not is_dynamic(arg) and os.path.abspath(arg) == path for arg in args):
        return None
    for arg in args:
        if is_dynamic(arg):
            root = dynamic_root(arg)
            if path.startswith(root.rstrip(os.sep) + os.sep):
                return root
    return None


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
