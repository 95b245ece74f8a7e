"""What the docs name exists: properties, files cited by name, and images (both ways).

Stale names are what a renaming leaves behind in prose: a ``--property`` that
the checker no longer knows, a document the repository does not hold, a figure
under an old name that no page shows any more.
"""

from __future__ import annotations

import re
from pathlib import Path

from coordinator import PROPERTY_NAMES
from docgen import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = [p for folder in ("coordinator", "model", "sim", "dbdriver", "live", "wavesim", "benchmarks", "tests")
           for p in sorted((ROOT / folder).rglob("*.py"))]
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.(?:png|svg|jpg|gif))\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_property_option_in_the_docs_names_a_property() -> None:
    named = {(page.name, m) for page in PAGES for m in re.findall(r"--property[ =]([A-Za-z_]+)", _text(page))}
    assert named  # the pages do show the option
    assert sorted((page, name) for page, name in named if name not in PROPERTY_NAMES) == []


def test_every_document_cited_by_name_is_in_the_repository() -> None:
    held = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    cited = {(path.relative_to(ROOT).as_posix(), name) for path in PAGES + SOURCES
             for name in re.findall(r"\b([A-Z][A-Z0-9_-]*\.md)\b", _text(path))}
    assert sorted((where, name) for where, name in cited if name not in held) == []


def test_every_image_a_page_shows_exists_and_every_image_in_docs_img_is_shown() -> None:
    shown = set()
    for page in PAGES:
        for target in IMAGE.findall(_text(page)):
            image = (page.parent / target).resolve()
            assert image.is_file(), f"{page.relative_to(ROOT)} shows {target}, which does not exist"
            shown.add(image)
    unshown = [p.name for p in sorted((ROOT / "docs" / "img").iterdir()) if p.resolve() not in shown]
    assert unshown == []
