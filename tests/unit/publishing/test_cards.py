"""The status card: rendered the same way every time, in the organisation's colours, stored once
and served by Crier's own HTTP server."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from bot.config import Network
from bot.ports import PublishRequest
from bot.publishing.cards import (
    CardFacts,
    _font,
    _wrap,
    alt_text,
    card_data,
    card_facts,
    cards_folder,
    read_card,
    render_card,
    save_card,
)
from bot.settings import Settings
from tests.conftest import make_config
from tests.fakes.networks.instagram import CardServer

FACTS = CardFacts(
    organisation="Northfield IT",
    service="Blackboard",
    status="investigating",
    time="2:45 PM EST · Thu 15 Jan 2026",
    text="Students cannot sign in to Blackboard.",
    primary_colour="#1f3a5f",
    accent_colour="#f2b705",
)
AT = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)


def request(title: str = "Blackboard: Students cannot sign in") -> PublishRequest:
    return PublishRequest(
        network=Network.INSTAGRAM,
        text="Blackboard: students cannot sign in. 2:45 PM EST",
        idempotency_key="key-1",
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title=title,
    )


def settings_in(tmp_path: Path, public_url: str = "https://crier.example.edu") -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'crier.db'}", public_url=public_url)


def test_the_same_facts_make_the_same_png() -> None:
    first = render_card(FACTS)
    assert first == render_card(FACTS)
    assert first.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(first))
    assert image.size == (1080, 1080)


def test_other_facts_make_another_card_with_another_name() -> None:
    resolved = CardFacts(**{**FACTS.__dict__, "status": "resolved"})
    assert resolved.name != FACTS.name and len(FACTS.name) == 32
    assert render_card(resolved) != render_card(FACTS)


def test_the_card_is_in_the_organisation_colours() -> None:
    image = Image.open(io.BytesIO(render_card(FACTS))).convert("RGB")
    assert image.getpixel((540, 5)) == (0xF2, 0xB7, 0x05)  # the accent band
    assert image.getpixel((1075, 540)) == (0x1F, 0x3A, 0x5F)  # the background
    pale = CardFacts(**{**FACTS.__dict__, "primary_colour": "#f5f5f5"})
    pale_image = Image.open(io.BytesIO(render_card(pale))).convert("RGB")
    # Dark ink on a pale background: the darkest pixel is dark, not white.
    assert pale_image.convert("L").getextrema()[0] < 60


def test_jpeg_for_instagram() -> None:
    data = render_card(FACTS, image_format="jpg")
    assert data.startswith(b"\xff\xd8") and data == render_card(FACTS, image_format="jpg")


def test_long_text_wraps_and_ends_in_an_ellipsis() -> None:
    font = _font(52)
    lines = _wrap("word " * 200, font, 900, max_lines=4)
    assert len(lines) == 4 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 900 for line in lines)
    assert _wrap("x" * 500, font, 300, max_lines=2)[0]  # one huge word is cut, not lost


def test_facts_come_from_the_request_in_the_organisation_time_zone() -> None:
    facts = card_facts(request(), config=make_config(), at=AT)
    assert facts.service == "Blackboard" and facts.status == "investigating"
    assert facts.text == "Students cannot sign in"
    assert facts.time == "2:45 PM EST · Thu 15 Jan 2026"
    assert facts.organisation == "Northfield IT" and facts.primary_colour == "#1f3a5f"


def test_cards_live_next_to_the_sqlite_database(tmp_path: Path) -> None:
    assert cards_folder(settings_in(tmp_path)) == tmp_path.resolve() / "cards"
    elsewhere = cards_folder(Settings(database_url="postgresql://crier@db/crier"))
    assert elsewhere.name == "crier-cards"


def test_a_card_is_written_once_and_read_back(tmp_path: Path) -> None:
    path = save_card(tmp_path, FACTS)
    stamp = path.stat().st_mtime_ns
    assert save_card(tmp_path, FACTS).stat().st_mtime_ns == stamp
    assert read_card(tmp_path, FACTS.name, "png") == render_card(FACTS)
    assert read_card(tmp_path, "0" * 32, "png") is None
    assert read_card(tmp_path, "../../etc/passwd", "png") is None
    assert read_card(tmp_path, FACTS.name, "gif") is None
    assert not list(tmp_path.glob("*.part"))


async def test_the_card_is_stored_and_crier_serves_it_at_its_url(tmp_path: Path) -> None:
    async with CardServer(settings_in(tmp_path)) as server:
        settings = settings_in(tmp_path, public_url=server.base_url + "/")
        card = await card_data(request(), config=make_config(), settings=settings, at=AT)
        url = card.url
        assert url.startswith(f"{server.base_url}/cards/") and url.endswith(".png")
        status, kind, body = await server.get(url)
        assert status == 200 and kind == "image/png" and body.startswith(b"\x89PNG")
        jpeg = await card_data(
            request(), config=make_config(), settings=settings, at=AT, image_format="jpg"
        )
        status, kind, _ = await server.get(jpeg.url)
        assert status == 200 and kind == "image/jpeg"
        missing = f"{server.base_url}/cards/{'0' * 32}.png"
        assert (await server.get(missing))[0] == 404
        assert (await server.get(f"{server.base_url}/cards/nothing.png"))[0] == 404


def test_the_alt_text_says_what_the_card_shows_in_words() -> None:
    assert alt_text(FACTS) == (
        "Northfield IT status card: Blackboard, Investigating. "
        "Students cannot sign in to Blackboard. 2:45 PM EST, Thu 15 Jan 2026."
    )
    resolved = CardFacts(**{**FACTS.__dict__, "status": "resolved", "text": ""})
    assert alt_text(resolved) == (
        "Northfield IT status card: Blackboard, Resolved. 2:45 PM EST, Thu 15 Jan 2026."
    )
    long = CardFacts(**{**FACTS.__dict__, "text": "word " * 200})
    assert len(alt_text(long)) < 420 and "…" in alt_text(long)


async def test_card_data_is_the_stored_card_with_its_alt_text(tmp_path: Path) -> None:
    card = await card_data(request(), config=make_config(), settings=settings_in(tmp_path), at=AT)
    facts = card_facts(request(), config=make_config(), at=AT)
    assert card.data == render_card(facts) and card.mime_type == "image/png"
    assert card.alt == alt_text(facts) and card.width == card.height == 1080
    assert (tmp_path / "cards" / f"{facts.name}.png").is_file()
