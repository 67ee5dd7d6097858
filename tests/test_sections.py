"""The section catalogue: built-in Aze.Media sections and the TOML override."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import sections
from bot.config import ConfigError


def test_builtin_catalogue_has_the_sites_sections_in_menu_order() -> None:
    catalogue = sections.builtin("https://aze.media")
    assert [s.name for s in catalogue] == [
        "COP29", "Opinion", "News", "Economy", "Energy", "Climate and Ecology", "Culture",
        "Diaspora", "Interview", "Science", "Logistics-Transport", "Gender", "History",
        "Defense", "Karabakh",
    ]  # fmt: skip
    by_slug = {s.slug: s for s in catalogue}
    assert {s.slug for s in catalogue if s.parent == "news"} == {
        "economy",
        "energy",
        "climate-and-ecology",
    }
    assert by_slug["karabakh"].feeds == ("https://aze.media/category/karabakh/feed/",)


def test_toml_replaces_the_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "sections.toml"
    path.write_text(
        """
[[section]]
slug = "world"
name = "World"
feeds = ["https://example.org/world.xml", "https://example.org/world.atom"]

[[section]]
slug = "europe"
name = "Europe"
parent = "world"
order = 0

[[section]]
slug = "sport"
name = "Sport"
hidden = true
""",
        encoding="utf-8",
    )
    catalogue = sections.load("https://example.org", path)
    assert [s.slug for s in catalogue] == ["world", "europe", "sport"]
    assert catalogue[0].feeds == ("https://example.org/world.xml", "https://example.org/world.atom")
    assert catalogue[1].feeds == ("https://example.org/category/europe/feed/",)
    assert catalogue[2].hidden


def test_toml_extend_keeps_builtin(tmp_path: Path) -> None:
    path = tmp_path / "sections.toml"
    path.write_text('mode = "extend"\n[[section]]\nslug = "sport"\nname = "Sport"\n')
    slugs = [s.slug for s in sections.load("https://aze.media", path)]
    assert slugs[0] == "cop29" and slugs[-1] == "sport"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[section]]\nname = 'No slug'\n", "needs a slug"),
        ("[[section]]\nslug = 'a'\nparent = 'zzz'\n", "unknown parent"),
        ("mode = 'merge'\n", "mode must be"),
        ("[[section\n", "NEWSBOT_SECTIONS_FILE"),
    ],
)
def test_bad_toml_is_explained(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sections.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        sections.load("https://aze.media", path)
