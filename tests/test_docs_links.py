"""Every relative link of README.md and docs/*.md leads somewhere: the file exists, and a `#heading` anchor
names a heading of that file (slugged as GitHub renders them)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", flags=re.M | re.S)


def _prose(page: Path) -> str:
    """The page without its fenced code blocks (a `[x](y)` inside code is no link)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but `-` and `_` dropped, spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    """The anchors of a page's headings (a repeated heading gets `-1`, `-2`, ... as on GitHub)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", _prose(page), flags=re.M):
        slug = _slug(heading)
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page)) if not re.match(r"[a-z]+:", target)]


def test_the_docs_pages_exist_and_link_to_each_other():
    assert len(PAGES) > 5
    readme_links = {target.split("#")[0] for target in _relative_links(REPO / "README.md")}
    assert {f"docs/{page.name}" for page in PAGES[1:]} <= readme_links  # the README's map names every page


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO).as_posix())
def test_every_relative_link_points_at_an_existing_file_and_heading(page):
    broken = []
    for target in _relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(REPO) if linked.is_relative_to(REPO) else linked}")
        elif anchor and (linked.suffix != ".md" or anchor not in _anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


@pytest.mark.parametrize(("heading", "anchor"), [
    ("`segment`: cut whole videos into label segments", "segment-cut-whole-videos-into-label-segments"),
    ("New directories (`fuse`, `segment`)", "new-directories-fuse-segment"),
    ("`export-csd`: back to `.csd` files", "export-csd-back-to-csd-files"),
])
def test_anchors_are_slugged_as_github_slugs_them(heading, anchor):
    assert _slug(heading) == anchor
