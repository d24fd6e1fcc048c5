"""Live mentions: the handles in a public text that its network would turn into a notification.

An ``@jsmith`` typed by staff notifies that account the moment the post is out. Each network
finds mentions by its own rules, followed here:

- X (twitter-text v3): ``@handle`` of 1 to 20 of ``[A-Za-z0-9_]``, not after a letter, digit or
  ``_!#$%&*@`` (so not in ``help@example.edu``), not followed by ``@``, an accented Latin letter
  or ``://``; ``@handle/list`` is a list, not a mention. A full-width at sign counts.
- Mastodon: ``@user`` (an account on the same server) and ``@user@domain.tld``, not after a word
  character, ``/`` or ``=`` (Mastodon's ``Account::MENTION_RE``).
- Bluesky: ``@handle.domain.tld`` (a handle is a domain name) at the start, after a space or
  ``(`` (the app's facet detection).
- Instagram: ``@handle`` in a caption (letters, digits, ``_`` and ``.``, up to 30).
- Facebook, LinkedIn (Crier escapes ``@`` in its little text format), the status page and the
  webhook: no text mention notifies anyone.

An ``@`` inside a link (``https://mastodon.social/@it``) is part of the link on every network.

    >>> find_mentions(Network.X, "Ask @jsmith or help@example.edu")
    ('@jsmith',)
    >>> find_mentions(Network.MASTODON, "Follow @helpdesk@mastodon.example.edu.")
    ('@helpdesk@mastodon.example.edu',)

What Crier does about them is each channel's ``mentions`` setting in crier.yml (``mention_notes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import twitter_text
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

from bot.config import ChannelConfig, CrierConfig, Network
from bot.views import NETWORK_LABELS

# X (twitter-text's validMentionOrList, its preceding characters and endMentionMatch).
_X_CANDIDATE = re.compile(r"[@\uff20]([A-Za-z0-9_]{1,20})(/[A-Za-z][A-Za-z0-9_-]{0,24})?")
_X_NOT_BEFORE = re.compile(r"[A-Za-z0-9_!#$%&*@\uff20]")
_X_RETWEET = re.compile(r"(?:^|[^A-Za-z0-9_+~.-])(?:rt|RT|rT|Rt):?$")
_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_X_END = re.compile(rf"[@\uff20{_LATIN_ACCENTS}]|://")
# Mastodon (Account::USERNAME_RE and MENTION_RE).
_MASTODON = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?(?:@\w+(?:[.-]+\w+)*)?)", re.IGNORECASE
)
# Bluesky (the app's MENTION_REGEX; the handle must then be a domain name).
_BLUESKY = re.compile(r"(?:^|(?<=[\s(]))@([A-Za-z0-9.-]+)")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
# Instagram: a handle in a caption.
_INSTAGRAM = re.compile(r"(?<![A-Za-z0-9_.@])@([A-Za-z0-9._]{1,30})(?![\w@])")


def find_mentions(network: Network, text: str) -> tuple[str, ...]:
    """The handles in ``text`` that ``network`` would notify, each once (as first written), in
    order: ``@handle``, or ``@user@domain`` on Mastodon."""
    finder = _FINDERS.get(network)
    if finder is None or ("@" not in text and "\uff20" not in text):
        return ()
    links = [range(*link["indices"]) for link in twitter_text.extract_urls_with_indices(text) or []]
    found: dict[str, str] = {}
    for at, handle in finder(text):
        if not any(at in link for link in links):
            found.setdefault(handle.casefold(), handle)
    return tuple(found.values())


def mention_notes(config: CrierConfig, network: Network, text: str) -> tuple[list[str], str | None]:
    """What to tell the approvers about the live mentions in one channel's text: ``(notes,
    problem)``. By the channel's ``mentions`` setting: ``warn`` (the default) gives a note per
    handle ("will notify @jsmith on X"); ``block`` gives the problem that stops the approval;
    ``allow`` gives nothing."""
    setting = (config.channels.get(network) or ChannelConfig()).mentions
    handles = find_mentions(network, text) if setting != "allow" else ()
    if not handles:
        return [], None
    label = NETWORK_LABELS.get(network, network.value)
    if setting == "block":
        named, accounts = handles[0], "that account"
        if len(handles) > 1:
            named, accounts = f"{', '.join(handles[:-1])} and {handles[-1]}", "those accounts"
        return [], (
            f"{named} would notify {accounts}; live mentions are off for {label} in "
            "crier.yml — remove the @ or write the name."
        )
    return [f"will notify {handle} on {label}" for handle in handles], None


def _x(text: str) -> Iterator[tuple[int, str]]:
    for match in _X_CANDIDATE.finditer(text):
        at = match.start()
        before = text[at - 1] if at else ""
        if before and _X_NOT_BEFORE.match(before) and not _X_RETWEET.search(text[:at]):
            continue
        if match.group(2) or _X_END.match(text, match.end()):
            continue  # a list (@handle/list), or not a mention at all (@a@b, @josé, @x://)
        yield at, f"@{match.group(1)}"


def _is_domain(handle: str) -> bool:
    labels = handle.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return False
    tld = labels[-1].lower()
    return tld == "test" or bool(valid_gtld.fullmatch(tld) or valid_cctld.fullmatch(tld))


def _matches(
    pattern: re.Pattern[str], *, strip: str = "", valid: Callable[[str], bool] = bool
) -> Callable[[str], Iterator[tuple[int, str]]]:
    """A finder of ``pattern``'s handles (group 1), without the trailing ``strip`` characters
    (a full stop ending the sentence), that are ``valid``."""

    def find(text: str) -> Iterator[tuple[int, str]]:
        for match in pattern.finditer(text):
            handle = match.group(1).rstrip(strip)
            if valid(handle):
                yield match.start(), f"@{handle}"

    return find


_FINDERS: dict[Network, Callable[[str], Iterator[tuple[int, str]]]] = {
    Network.X: _x,
    Network.MASTODON: _matches(_MASTODON),
    Network.BLUESKY: _matches(_BLUESKY, strip=".-", valid=_is_domain),
    Network.INSTAGRAM: _matches(_INSTAGRAM, strip="."),
}
