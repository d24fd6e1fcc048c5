"""Crier's status card: one image with the service, its status, the time and a short text, in
the organisation's colours.

Instagram cannot post without an image, and other channels may attach the same card
(``attach_card`` in ``crier.yml``). A card is rendered once, kept as a file in a ``cards`` folder
next to the SQLite database (so it survives a restart), named by a hash of what it shows, and
served by Crier's own HTTP server:

    card = await card_data(request, config=config, settings=settings)
    card.url  # "https://crier.example.edu/cards/3f9c…e1.png"
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont
from sqlalchemy.engine import make_url

from bot.config import CrierConfig
from bot.drafting.post_times import format_time
from bot.incidents import labels
from bot.ports import PublishRequest
from bot.settings import Settings

SIZE = 1080  # square: Instagram's safest shape, and fine as a link image elsewhere
MARGIN = 80
FORMATS = {"png": "PNG", "jpg": "JPEG"}  # Instagram takes JPEG only; elsewhere PNG is sharper
CARD_NAME = re.compile(r"^[0-9a-f]{32}$")
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class CardFacts:
    """Everything a card shows; the same facts always make the same image."""

    organisation: str
    service: str
    status: str
    time: str  # as a reader says it: "2:45 PM EST · Tue 14 Jan 2025"
    text: str
    primary_colour: str  # "#1f3a5f"
    accent_colour: str

    @property
    def name(self) -> str:
        """The card's file name (without extension): a hash of its facts."""
        raw = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(raw).hexdigest()[:32]


def card_facts(request: PublishRequest, *, config: CrierConfig, at: datetime) -> CardFacts:
    """The facts for ``request``'s card, with the time ``at`` in the organisation's zone."""
    organisation = config.organisation
    local = at.astimezone(organisation.zone)
    when = f"{format_time(at, organisation.zone)} · {local:%a} {local.day} {local:%b %Y}"
    prefix = f"{request.service}: "
    text = request.title[len(prefix) :] if request.title.startswith(prefix) else request.title
    return CardFacts(
        organisation=organisation.display_name,
        service=request.service,
        status=request.status,
        time=when,
        text=" ".join(text.split()),
        primary_colour=organisation.primary_colour,
        accent_colour=organisation.accent_colour,
    )


ALT_TEXT_CHARACTERS = 280  # the card's text in the alt text: a screen reader reads it all


def alt_text(facts: CardFacts) -> str:
    """The card in words, for a screen reader (Instagram's ``alt_text``, Bluesky's ``alt``,
    Mastodon's ``description``): who, which service, its status, what is wrong, and when.

        "Northfield IT status card: Blackboard, Investigating. Students cannot sign in.
        2:45 PM EST, Thu 15 Jan 2026."
    """
    status = labels.status(facts.status)
    parts = [f"{facts.organisation} status card: {facts.service}, {status}."]
    text = facts.text.strip()
    if len(text) > ALT_TEXT_CHARACTERS:
        text = text[:ALT_TEXT_CHARACTERS].rsplit(" ", 1)[0].rstrip(" .,;:") + "…"
    if text:
        parts.append(text if text.endswith((".", "!", "?", "…")) else f"{text}.")
    parts.append(f"{facts.time.replace(' · ', ', ')}.")
    return " ".join(parts)


# ----- rendering ---------------------------------------------------------------------------


@cache
def _font(size: int) -> FontType:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 ships a scalable font
    except TypeError:  # an older Pillow: the small bitmap font, still no system font needed
        return ImageFont.load_default()


def _ink_on(colour: tuple[int, ...]) -> tuple[int, int, int]:
    """White or near-black, whichever reads better on ``colour`` (WCAG relative luminance)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (255, 255, 255) if luminance < 0.18 else (17, 24, 39)


def _wrap(text: str, font: FontType, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last line ends in "…" if text is left over."""
    lines: list[str] = []
    words = text.split()
    line = ""
    while words:
        candidate = f"{line} {words[0]}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
            words.pop(0)
            continue
        if not line:  # one word wider than the card: cut it
            cut = words.pop(0)
            while cut and font.getlength(cut) > width:
                cut = cut[:-1]
            line = cut
        lines.append(line)
        line = ""
        if len(lines) == max_lines:
            break
    if line and len(lines) < max_lines:
        lines.append(line)
    if words and lines:
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def render_card(facts: CardFacts, *, image_format: str = "png") -> bytes:
    """The card as PNG (or JPEG with ``image_format="jpg"``) bytes; deterministic."""
    primary = ImageColor.getrgb(facts.primary_colour)
    accent = ImageColor.getrgb(facts.accent_colour)
    ink = _ink_on(primary)
    image = Image.new("RGB", (SIZE, SIZE), primary)
    draw = ImageDraw.Draw(image)
    width = SIZE - 2 * MARGIN

    draw.rectangle((0, 0, SIZE, 24), fill=accent)
    draw.text((MARGIN, 90), facts.organisation, font=_font(40), fill=ink)

    label = labels.status(facts.status).upper()
    pill_font = _font(44)
    pill_width = int(pill_font.getlength(label)) + 64
    draw.rounded_rectangle((MARGIN, 190, MARGIN + pill_width, 274), radius=42, fill=accent)
    draw.text((MARGIN + 32, 232), label, font=pill_font, fill=_ink_on(accent), anchor="lm")

    y = 330
    service_font = _font(96)
    for line in _wrap(facts.service, service_font, width, max_lines=2):
        draw.text((MARGIN, y), line, font=service_font, fill=ink)
        y += 112
    y += 30
    text_font = _font(52)
    room = max(1, (SIZE - 200 - y) // 68)  # the lines left above the time
    for line in _wrap(facts.text, text_font, width, max_lines=room):
        draw.text((MARGIN, y), line, font=text_font, fill=ink)
        y += 68

    draw.line((MARGIN, SIZE - 170, SIZE - MARGIN, SIZE - 170), fill=accent, width=4)
    draw.text((MARGIN, SIZE - 130), facts.time, font=_font(44), fill=ink)

    out = io.BytesIO()
    image.save(out, format=FORMATS[image_format], quality=90)  # PNG ignores the quality
    return out.getvalue()


# ----- storing and serving -----------------------------------------------------------------


def cards_folder(settings: Settings) -> Path:
    """Where cards are kept: ``cards/`` next to the SQLite database file; with another database,
    ``crier-cards`` in the system's temporary folder (served by the process that rendered it)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database or "").resolve().parent / "cards"
    return Path(tempfile.gettempdir()) / "crier-cards"


def card_path(folder: Path, name: str, image_format: str) -> Path | None:
    """The file for ``name.image_format``, or None when the name is not one Crier makes."""
    if not CARD_NAME.match(name) or image_format not in FORMATS:
        return None
    return folder / f"{name}.{image_format}"


def save_card(folder: Path, facts: CardFacts, image_format: str = "png") -> Path:
    """Render and write the card unless it is already there; the write is atomic."""
    path = card_path(folder, facts.name, image_format)
    assert path is not None
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    data = render_card(facts, image_format=image_format)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, path)  # readers see the whole file or none of it
    return path


def read_card(folder: Path, name: str, image_format: str) -> bytes | None:
    """A stored card's bytes, for the HTTP server; None when there is no such card."""
    path = card_path(folder, name, image_format)
    if path is None or not path.is_file():
        return None
    return path.read_bytes()


@dataclass(frozen=True)
class CardImage:
    """The stored card: its bytes (for networks that take an upload), its public URL under
    ``CRIER_PUBLIC_URL`` (for networks that fetch it), and its alt text."""

    data: bytes
    url: str
    mime_type: str
    alt: str
    width: int = SIZE
    height: int = SIZE


async def card_data(
    request: PublishRequest,
    *,
    config: CrierConfig,
    settings: Settings,
    at: datetime | None = None,
    image_format: str = "png",
) -> CardImage:
    """Render (once) and store the card for ``request``, and read it back with its alt text. Any
    publisher whose channel has ``attach_card`` may use it."""
    facts = card_facts(request, config=config, at=at or datetime.now(UTC))
    path = await asyncio.to_thread(save_card, cards_folder(settings), facts, image_format)
    data = await asyncio.to_thread(path.read_bytes)
    url = f"{settings.public_url.rstrip('/')}/cards/{facts.name}.{image_format}"
    kind = f"image/{FORMATS[image_format].lower()}"
    return CardImage(data=data, url=url, mime_type=kind, alt=alt_text(facts))
