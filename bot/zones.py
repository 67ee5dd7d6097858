"""Time zones as readers name them: a city or a UTC offset typed in any of our languages -> IANA.

Pure. IANA names come from the standard library's `zoneinfo` (tzdata ships with the package),
whose last path part is already an English city ("Europe/Berlin", "America/Toronto"); a small
table adds the names readers type in Azerbaijani and Russian and a few big cities that are not
zone names themselves. No geocoding dependency for a lookup this small.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from zoneinfo import available_timezones

# One tap each in /settings: where the site's readers mostly live.
COMMON = (
    "Asia/Baku",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Tbilisi",
    "Europe/Kyiv",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)

EXAMPLES = "Berlin, Toronto, Tashkent, UTC+4"

# Names that are not the last part of an IANA name, folded as `fold` folds them.
_CITIES: dict[str, str] = {
    # Azerbaijan
    "baki": "Asia/Baku",
    "баку": "Asia/Baku",
    "gence": "Asia/Baku",
    "ganja": "Asia/Baku",
    "гянджа": "Asia/Baku",
    "sumqayit": "Asia/Baku",
    "sumgait": "Asia/Baku",
    "сумгаит": "Asia/Baku",
    "naxcivan": "Asia/Baku",
    "nakhchivan": "Asia/Baku",
    "нахчыван": "Asia/Baku",
    "lenkeran": "Asia/Baku",
    "lankaran": "Asia/Baku",
    "şeki": "Asia/Baku",
    "seki": "Asia/Baku",
    "shaki": "Asia/Baku",
    "azerbaijan": "Asia/Baku",
    "azerbaycan": "Asia/Baku",
    "азербайджан": "Asia/Baku",
    # Neighbours and the diaspora
    "istanbul": "Europe/Istanbul",  # not the old alias Asia/Istanbul
    "nicosia": "Asia/Nicosia",
    "ankara": "Europe/Istanbul",
    "izmir": "Europe/Istanbul",
    "antalya": "Europe/Istanbul",
    "стамбул": "Europe/Istanbul",
    "анкара": "Europe/Istanbul",
    "turkiye": "Europe/Istanbul",
    "turkey": "Europe/Istanbul",
    "турция": "Europe/Istanbul",
    "москва": "Europe/Moscow",
    "moskva": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "sankt peterburq": "Europe/Moscow",
    "санкт петербург": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "tiflis": "Asia/Tbilisi",
    "тбилиси": "Asia/Tbilisi",
    "yerevan": "Asia/Yerevan",
    "ереван": "Asia/Yerevan",
    "irevan": "Asia/Yerevan",
    "tehran": "Asia/Tehran",
    "tehran iran": "Asia/Tehran",
    "tebriz": "Asia/Tehran",
    "tabriz": "Asia/Tehran",
    "тегеран": "Asia/Tehran",
    "kiev": "Europe/Kyiv",
    "kiyev": "Europe/Kyiv",
    "киев": "Europe/Kyiv",
    "київ": "Europe/Kyiv",
    "минск": "Europe/Minsk",
    "daskend": "Asia/Tashkent",
    "ташкент": "Asia/Tashkent",
    "toshkent": "Asia/Tashkent",
    "samarkand": "Asia/Samarkand",
    "самарканд": "Asia/Samarkand",
    "алматы": "Asia/Almaty",
    "astana": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "бишкек": "Asia/Bishkek",
    "ашхабад": "Asia/Ashgabat",
    "asgabat": "Asia/Ashgabat",
    "душанбе": "Asia/Dushanbe",
    "дубай": "Asia/Dubai",
    "abu dhabi": "Asia/Dubai",
    "doha": "Asia/Qatar",
    "riyadh": "Asia/Riyadh",
    "tel aviv": "Asia/Jerusalem",
    # Europe and beyond, in the spellings readers use
    "берлин": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "munchen": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "koln": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "лондон": "Europe/London",
    "париж": "Europe/Paris",
    "вена": "Europe/Vienna",
    "vyana": "Europe/Vienna",
    "рим": "Europe/Rome",
    "roma": "Europe/Rome",
    "milan": "Europe/Rome",
    "мадрид": "Europe/Madrid",
    "barcelona": "Europe/Madrid",
    "варшава": "Europe/Warsaw",
    "varsava": "Europe/Warsaw",
    "praga": "Europe/Prague",
    "прага": "Europe/Prague",
    "амстердам": "Europe/Amsterdam",
    "брюссель": "Europe/Brussels",
    "bruksel": "Europe/Brussels",
    "рига": "Europe/Riga",
    "вильнюс": "Europe/Vilnius",
    "таллин": "Europe/Tallinn",
    "кишинев": "Europe/Chisinau",
    "нью йорк": "America/New_York",
    "nyu york": "America/New_York",
    "washington": "America/New_York",
    "boston": "America/New_York",
    "вашингтон": "America/New_York",
    "торонто": "America/Toronto",
    "montreal": "America/Toronto",
    "ottawa": "America/Toronto",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "лос анджелес": "America/Los_Angeles",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "чикаго": "America/Chicago",
    "beijing": "Asia/Shanghai",
    "pekin": "Asia/Shanghai",
    "пекин": "Asia/Shanghai",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "tokio": "Asia/Tokyo",
    "токио": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
    "utc": "UTC",
    "gmt": "UTC",
}

# Offsets that are not whole hours have no Etc/GMT zone: the best-known place keeping each.
_FRACTIONAL = {
    (-9, 30): "Pacific/Marquesas",
    (-3, 30): "America/St_Johns",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon",
    (8, 45): "Australia/Eucla",
    (9, 30): "Australia/Darwin",
    (10, 30): "Australia/Lord_Howe",
    (12, 45): "Pacific/Chatham",
}
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+\-−–])\s*(\d{1,2})(?:\s*[:.]?\s*(\d{2}))?$")
_ETC = re.compile(r"^Etc/GMT([+-])(\d{1,2})$")
_REGIONS = frozenset(
    ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian")
) | {"Pacific"}
# Letters NFKD does not take apart, folded to what readers type on a Latin keyboard.
_LETTERS = str.maketrans({"ı": "i", "ə": "e", "ё": "е", "ß": "ss", "ø": "o", "ł": "l"})


def fold(text: str) -> str:
    """Case, accents, punctuation and spacing folded away: "  Bakı " and "BAKI" match."""
    text = text.strip().casefold().translate(_LETTERS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[\s_\-'’.,/()]+", " ", text)
    return text.strip()


@lru_cache(maxsize=1)
def _known() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    """The IANA names, those names folded, and every city folded -> its zone."""
    names = frozenset(available_timezones())
    by_folded: dict[str, str] = {}
    cities: dict[str, str] = {}
    for name in sorted(names):
        by_folded[fold(name)] = name
        if name.split("/", 1)[0] in _REGIONS:  # not the legacy "Canada/Atlantic" kind
            cities.setdefault(fold(name.rsplit("/", 1)[1]), name)
    for city, name in _CITIES.items():
        cities[fold(city)] = name
    return names, by_folded, cities


def is_zone(name: str) -> bool:
    """Whether `name` is an IANA zone this machine knows (what a stored or tapped value must be)."""
    return name in _known()[0]


def _offset_zone(text: str) -> str | None:
    match = _OFFSET.match(text)
    if match is None:
        return None
    sign = -1 if match.group(1) != "+" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if minutes == 0 and -12 <= sign * hours <= 14:
        # POSIX inverts the sign: Etc/GMT-4 is four hours ahead of UTC.
        return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"
    return _FRACTIONAL.get((sign * hours, minutes))


def resolve(text: str) -> str | None:
    """The IANA zone a reader means by `text` ("Berlin", "UTC+4", "Ташкент", "Bakı"), or None."""
    folded = fold(text)
    if not folded or len(folded) > 64:
        return None
    offset = _offset_zone(text.strip().casefold().replace(" ", ""))
    if offset is not None:
        return offset
    _, by_folded, cities = _known()
    return by_folded.get(folded) or cities.get(folded)


def suggest(text: str, limit: int = 3) -> list[str]:
    """Places whose names are close to a `text` that did not resolve (a typo: "Berln")."""
    folded = fold(text)
    if not folded:
        return []
    cities = _known()[2]
    close = difflib.get_close_matches(folded, list(cities), n=limit, cutoff=0.8)
    return [city.title() for city in close]


def label(name: str) -> str:
    """How a zone is shown: its IANA name, or "UTC+4" for the offset zones POSIX writes inverted."""
    match = _ETC.match(name)
    if match is None:
        return name
    return f"UTC{'-' if match.group(1) == '+' else '+'}{int(match.group(2))}"


def short(name: str) -> str:
    """A zone's city for a small button: "New York" for America/New_York; offsets as label."""
    shown = label(name)
    return shown.rsplit("/", 1)[-1].replace("_", " ") if shown == name else shown
