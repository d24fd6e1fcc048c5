"""What was published, one panel per network, each post laid out the way that network shows it.

Publishing goes to the outbox (Crier's dry run), so the panels read the ``OutboxPost`` table,
and measure each text as its network would with ``bot.drafting.textrules.measure``. Crier's own
status site is no dry run: its panel reads the sent ``site`` deliveries, as the site does.

A network Crier listens to has the made-up public's buttons (``handlers.sandbox.listening``):
*Receive replies*, to its newest post of an open incident, and *Receive a surge of mentions*.
Crier's public answers to them are outbox posts too, shown replying to their person.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.drafting.textrules import measure
from bot.incidents import labels
from bot.storage.models import (
    Answer,
    Delivery,
    DeliveryState,
    HeardPost,
    Incident,
    OutboxPost,
    Post,
)
from bot.views import NETWORK_LABELS
from handlers.sandbox.listening import ReplyTarget
from handlers.sandbox.mrkdwn import escape, link

PER_NETWORK = 20
_LINKABLE = re.compile(r"(https?://[^\s<>]+[^\s<>.,;:!?)\]'\"])|([#@][\w.]+\w)")
# Each network's mark, its handle for the organisation's {name} and a post's footer.
_LOOKS = {
    Network.X: ("\U0001d54f", "@{name}", "💬 · 🔁 · ♡ · 📊"),  # the double-struck X of its logo
    Network.FACEBOOK: ("f", "", "👍 Like · 💬 Comment · ↗ Share"),
    Network.INSTAGRAM: ("◎", "", ""),
    Network.MASTODON: ("🐘", "@{name}@mastodon.example", "↩ · 🔁 · ☆ · 🔖"),
    Network.BLUESKY: ("🦋", "@{name}.bsky.social", "💬 · 🔁 · ♡ · ⋯"),
    Network.LINKEDIN: ("in", "", "👍 Like · 💬 Comment · 🔁 Repost"),
    Network.STATUSPAGE: ("●", "", ""),
    Network.WEBHOOK: ("⇢", "", ""),
    Network.SITE: ("◉", "", ""),
}
# The panels laid out as a status page's incident updates.
_STATUS_PAGES = (Network.STATUSPAGE, Network.SITE)


@dataclass(frozen=True)
class Published:
    """One post in the outbox, with what the panels show beside it."""

    id: int
    network: str
    text: str
    published_at: datetime
    reply_to: str | None
    incident_title: str
    status: str
    url: str | None = None  # the site's page for it (site posts only)
    answering: str | None = None  # a public answer's: the handle of whom it answers


def load_published(session: Session, *, only_id: int | None = None) -> list[Published]:
    """The newest posts of each network, newest first (or the one post ``only_id``).

    A post's time is the one Crier noted it went out, on Crier's clock (the sandbox's, which the
    person may have moved ahead), as the time in the post's text; the outbox row's own is the
    machine's."""
    query = (
        select(OutboxPost, Incident, Delivery, Post.status)
        .outerjoin(Incident, col(Incident.id) == col(OutboxPost.incident_id))
        .outerjoin(Delivery, col(Delivery.idempotency_key) == col(OutboxPost.idempotency_key))
        .outerjoin(Post, col(Post.id) == col(Delivery.post_id))
        .order_by(col(OutboxPost.id).desc())
    )
    if only_id is not None:
        query = query.where(OutboxPost.id == only_id)
    published = []
    counts: Counter[str] = Counter()
    rows = session.exec(query).all()
    answering = _answering(session, [d.answer_id for _, _, d, _ in rows if d and d.answer_id])
    for entry, incident, delivery, status in rows:
        counts[entry.network] += 1
        if counts[entry.network] > PER_NETWORK:
            continue
        sent_at = delivery.sent_at if delivery else entry.created_at
        if sent_at is None:
            continue  # written, not yet noted as sent: it shows a moment later, with that time
        assert entry.id is not None
        published.append(
            Published(
                id=entry.id,
                network=entry.network,
                text=entry.text,
                published_at=sent_at,
                reply_to=entry.reply_to,
                incident_title=f"{incident.service}: {incident.summary}" if incident else "",
                status=status or "",
                answering=answering.get(delivery.answer_id or 0) if delivery else None,
            )
        )
    if only_id is None:
        published += _site_posts(session)
    return published


def _answering(session: Session, answer_ids: list[int]) -> dict[int, str]:
    """Whom each public answer answers: the handle of the reply or mention it was written to."""
    if not answer_ids:
        return {}
    found = session.exec(
        select(Answer.id, HeardPost.author)
        .join(HeardPost, col(HeardPost.id) == col(Answer.heard_id))
        .where(col(Answer.id).in_(answer_ids))
    )
    return {answer_id or 0: author for answer_id, author in found}


def _site_posts(session: Session) -> list[Published]:
    """The newest posts on the status site: its sent deliveries (the site keeps no outbox)."""
    query = (
        select(Delivery, Incident, Post.status)
        .join(Incident, col(Incident.id) == col(Delivery.incident_id))
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(Delivery.channel == Network.SITE.value, Delivery.state == DeliveryState.SENT)
        .order_by(col(Delivery.sent_at).desc(), col(Delivery.id).desc())
        .limit(PER_NETWORK)
    )
    return [
        Published(
            id=delivery.id or 0,
            network=Network.SITE.value,
            text=delivery.text or "",
            published_at=delivery.sent_at or delivery.created_at,
            reply_to=None,
            incident_title=f"{incident.service}: {incident.summary}",
            status=status,
            url=delivery.url,
        )
        for delivery, incident, status in session.exec(query)
    ]


def _linkified(text: str) -> str:
    """Post text with links, hashtags and mentions highlighted as the networks do."""
    out, last = [], 0
    for match in _LINKABLE.finditer(text):
        out.append(escape(text[last : match.start()]))
        if match.group(1):
            out.append(link(match.group(1), escape(match.group(1))))
        else:
            out.append(f'<span class="tag">{escape(match.group(2))}</span>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


class PanelRenderer:
    """Renders the panels for the organisation in ``crier.yml``."""

    def __init__(self, config: CrierConfig) -> None:
        self._config = config
        organisation = config.organisation
        self._name = organisation.display_name
        self._handle = re.sub(r"[^a-z0-9]", "", self._name.lower()) or "crier"
        self._avatar = (
            f'<div class="pub-avatar" style="background:{organisation.primary_colour}">'
            f"{escape(self._name[:1].upper())}</div>"
        )

    def _time(self, at: datetime) -> str:
        local = at.astimezone(self._config.organisation.zone)
        return (
            f'<time class="pub-time" datetime="{at.isoformat()}">'
            f"{escape(local.strftime('%b %-d, %-I:%M %p %Z'))}</time>"
        )

    def _length(self, network: Network, text: str) -> str:
        check = measure(self._config, network, text, draft=False)
        css = "len ok" if check.ok else "len over"
        words = escape(check.problem) if check.problem else f"{check.summary()} {check.unit}"
        return f'<span class="{css}" title="as {NETWORK_LABELS[network]} counts it">{words}</span>'

    def post(self, item: Published) -> str:
        """One post, laid out like its network's."""
        try:
            network = Network(item.network)
        except ValueError:
            return ""
        if network in _STATUS_PAGES:
            return self._status_update(item, network)
        _, handle, footer = _LOOKS[network]
        handle = handle.format(name=self._handle)
        reply = (
            f'<div class="pub-reply">↳ Replying to {escape(item.answering)}</div>'
            if item.answering
            else '<div class="pub-reply">↳ Replying to the previous post</div>'
            if item.reply_to
            else ""
        )
        visibility = " · 🌐" if network is Network.FACEBOOK else ""
        return (
            f'<article class="pub pub-{network.value}" id="outbox-{item.id}" '
            f'data-network="{network.value}">{self._avatar}<div class="pub-main">'
            f'<div class="pub-who"><b>{escape(self._name)}</b> '
            f'<span class="pub-handle">{escape(handle)}</span> '
            f"{self._time(item.published_at)}{visibility}</div>{reply}"
            f'<div class="pub-text">{_linkified(item.text)}</div>'
            f'<div class="pub-foot"><span>{footer}</span>{self._length(network, item.text)}</div>'
            f"</div></article>"
        )

    def _status_update(self, item: Published, network: Network) -> str:
        status = labels.status(item.status) or "Update"
        # Site posts are deliveries, not outbox entries: their own ids, and a link to the page.
        anchor = f"site-{item.id}" if network is Network.SITE else f"outbox-{item.id}"
        page = f" · {link(item.url, 'on the site')}" if item.url else ""
        return (
            f'<article class="pub pub-statuspage pub-{network.value}" id="{anchor}" '
            f'data-network="{network.value}">'
            f'<div class="sp-title">{escape(item.incident_title or "Incident")}</div>'
            f'<div class="sp-update"><span class="sp-status sp-{escape(item.status)}">'
            f"{escape(status)}</span> — {_linkified(item.text)}</div>"
            f'<div class="pub-foot"><span>Posted {self._time(item.published_at)}{page}</span>'
            f"{self._length(network, item.text)}</div></article>"
        )

    def _listen_buttons(self, network: Network, target: ReplyTarget | None) -> str:
        """The made-up public's buttons: replies need a post of an open incident to answer."""
        label = NETWORK_LABELS[network]
        common = f'type="button" class="bk-btn listen-btn" data-network="{network.value}"'
        if target is not None:
            replies = (
                f'<button {common} data-listen="replies" title="Three people answer incident '
                f"#{target.incident_id}'s newest post on {escape(label)}\">Receive replies</button>"
            )
            why = ""
        else:
            replies = f'<button {common} data-listen="replies" disabled>Receive replies</button>'
            why = (
                '<p class="listen-why">Replies need a post of an open incident here: declare '
                "one and have it approved.</p>"
            )
        surge = (
            f'<button {common} data-listen="surge" title="Many angry posts naming one service, '
            f'in the last minutes">Receive a surge of mentions</button>'
        )
        return (
            f'<div class="net-listen" role="group" aria-label="The public on {escape(label)}">'
            f'<span class="listen-label">The public:</span>{replies}{surge}{why}</div>'
        )

    def panels(
        self,
        published: list[Published],
        listened: Mapping[Network, ReplyTarget | None] | None = None,
    ) -> str:
        """A panel for every enabled network (and any other that has posts); the networks
        ``listened`` to, with the public's buttons (and the post its replies would answer)."""
        listened = listened or {}
        networks = list(self._config.enabled_channels)
        networks += [Network(p.network) for p in published if p.network in set(Network)]
        html = []
        for network in dict.fromkeys(networks):  # each once, in that order
            posts = [p for p in published if p.network == network.value]
            body = "".join(self.post(p) for p in posts) or (
                '<p class="pub-none">Nothing published yet.</p>'
            )
            count = f"{len(posts)} post{'s' if len(posts) != 1 else ''}" if posts else ""
            buttons = (
                self._listen_buttons(network, listened[network]) if network in listened else ""
            )
            html.append(
                f'<section class="net net-{network.value}" data-network="{network.value}">'
                f'<h3><span class="net-mark">{_LOOKS[network][0]}</span> '
                f'{escape(NETWORK_LABELS[network])}<span class="net-count">{count}</span></h3>'
                f"{buttons}{body}</section>"
            )
        return "".join(html)
