"""Regenerate the README's option table from tailsse/config.py."""

import pathlib
import re

from tailsse.config import options_markdown

readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text(encoding="utf-8")
block = "<!-- options: begin -->\n" + options_markdown() + "<!-- options: end -->"
text, count = re.subn(r"<!-- options: begin -->.*?<!-- options: end -->", lambda m: block, text, flags=re.S)
if count != 1:
    raise SystemExit("README.md has no options block")
readme.write_text(text, encoding="utf-8")
