"""Colours that stay readable whatever the organisation's brand colours are (WCAG 2.2 AA).

contrast("#1f3a5f", "#ffffff")      # 11.6
text_on("#f2b705")                  # "#000000": dark text on a light accent
readable_on("#f2b705", "#ffffff")   # the accent darkened until it reads on white
"""

from __future__ import annotations

WHITE = "#ffffff"
BLACK = "#000000"
NEAR_BLACK = "#111111"
AA_TEXT = 4.5  # normal text, WCAG 2.2 success criterion 1.4.3


def _channels(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(colour: str) -> float:
    """Relative luminance, as WCAG defines it."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, from 1 to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: str) -> str:
    """White or black, whichever reads better on ``background``: one of the two always reaches
    4.58:1 (pure black, not near-black, so that mid-greys pass too)."""
    return max((WHITE, BLACK), key=lambda text: contrast(text, background))


def readable_on(colour: str, background: str, *, ratio: float = AA_TEXT) -> str:
    """``colour`` mixed with black (or white, on a dark background) just enough to reach
    ``ratio`` against ``background``: the brand's hue, legible."""
    toward = _channels(NEAR_BLACK if _luminance(background) > 0.18 else WHITE)
    start = _channels(colour)
    for step in range(21):
        share = step / 20
        mixed = "#" + "".join(
            f"{round(c + (t - c) * share):02x}" for c, t in zip(start, toward, strict=True)
        )
        if contrast(mixed, background) >= ratio:
            return mixed
    return text_on(background)
