"""The status site's subscription forms: subscribe, confirm, unsubscribe (RFC 8058 one-click).

    add_status_site(app, core)  # the site and its forms, under channels.site.path

Links in emails only ever show a page with a button: a GET never changes anything, so a mail
scanner that follows every link neither confirms nor unsubscribes anyone. The one-click POST of
``List-Unsubscribe-Post`` carries the token in the URL's query, as the email's header gave it.
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from bot.core import Core
from bot.site.public import catalog_slugs
from bot.site.render import PageContext, render_message, render_subscribe
from bot.subscriptions.desk import Reply, SubscribeDesk
from handlers.site import SECURITY_HEADERS, add_site_routes

log = logging.getLogger(__name__)
DESK_KEY = web.AppKey("subscribe_desk", SubscribeDesk)
PAGE_KEY = web.AppKey("subscribe_page", PageContext)
SERVICES_KEY = web.AppKey("subscribe_services", list)
PRIVATE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
MAX_FORM = 16 * 1024  # bytes: an address and a few service names


async def subscribe_form(request: web.Request) -> web.Response:
    return _page(200, render_subscribe(request.app[PAGE_KEY], request.app[SERVICES_KEY]))


async def subscribe(request: web.Request) -> web.Response:
    form = await _form(request)
    if form is None:
        return _message(request, "../", Reply(413, "Too long", "That form was too long."))
    address = form.get("email", "")
    services = form.getall("service", [])
    reply = await request.app[DESK_KEY].subscribe(request.remote or "", address, services)
    if reply.status == 400:  # the form again, with what was typed and what is wrong
        log.info("subscribe form refused: %s", reply.text)
        body = render_subscribe(
            request.app[PAGE_KEY],
            request.app[SERVICES_KEY],
            problem=reply.text,
            address=address.replace("\r", " ").replace("\n", " ")[:254],
            chosen=tuple(services),
        )
        return _page(400, body)
    if reply.status == 429:
        log.warning("subscribe form: too many from %s", request.remote)
    return _message(request, "../", reply)


async def confirm_page(request: web.Request) -> web.Response:
    token = request.query.get("t", "")
    consent = request.app[DESK_KEY].consent(token)
    if isinstance(consent, Reply):
        return _message(request, "../../", consent)
    asked = Reply(
        200,
        "Confirm your subscription",
        f"Press the button to start getting status updates at {consent.address}.",
    )
    return _message(request, "../../", asked, button="Confirm", token=token)


async def confirm(request: web.Request) -> web.Response:
    form = await _form(request)
    token = form.get("t", "") if form is not None else ""
    return _message(request, "../../", await request.app[DESK_KEY].confirm(token))


async def unsubscribe_page(request: web.Request) -> web.Response:
    token = request.query.get("t", "")
    problem = request.app[DESK_KEY].unsubscribe_link_works(token)
    if problem is not None:
        return _message(request, "../", problem)
    asked = Reply(
        200,
        "Unsubscribe",
        "Press the button to stop these emails; your address is then deleted.",
    )
    return _message(request, "../", asked, button="Unsubscribe", token=token)


async def unsubscribe(request: web.Request) -> web.Response:
    """The page's button, or a mail client's one-click POST (``List-Unsubscribe=One-Click``
    in the body, the token in the query)."""
    form = await _form(request)
    token = request.query.get("t") or (form.get("t") if form is not None else None) or ""
    return _message(request, "../", await request.app[DESK_KEY].unsubscribe(token))


async def _form(request: web.Request) -> MultiDictProxy[str] | None:
    """The form's text fields (files ignored); None if it is larger than any of ours."""
    if request.content_length is not None and request.content_length > MAX_FORM:
        return None
    try:
        form = await request.post()
    except ValueError:  # aiohttp: larger than its limit
        return None
    return MultiDictProxy(MultiDict((k, v) for k, v in form.items() if isinstance(v, str)))


def _message(
    request: web.Request,
    root: str,
    reply: Reply,
    *,
    button: str | None = None,
    token: str | None = None,
) -> web.Response:
    body = render_message(
        request.app[PAGE_KEY],
        root=root,
        title=reply.title,
        text=reply.text,
        button=button,
        token=token,
    )
    response = _page(reply.status, body)
    if reply.retry_after is not None:
        response.headers["Retry-After"] = str(reply.retry_after)
    return response


def _page(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/html", headers=PRIVATE)


def add_subscription_routes(
    app: web.Application,
    desk: SubscribeDesk,
    page: PageContext,
    prefix: str,
    services: list[tuple[str, str]],
) -> None:
    """The forms under ``prefix`` (add them before the site's own catch-all route)."""
    app[DESK_KEY], app[PAGE_KEY], app[SERVICES_KEY] = desk, page, services
    app.router.add_get(prefix + "subscribe/", subscribe_form)
    app.router.add_post(prefix + "subscribe/", subscribe)
    app.router.add_get(prefix + "subscribe/confirm/", confirm_page)
    app.router.add_post(prefix + "subscribe/confirm/", confirm)
    app.router.add_get(prefix + "unsubscribe/", unsubscribe_page)
    app.router.add_post(prefix + "unsubscribe/", unsubscribe)


def add_status_site(app: web.Application, core: Core) -> None:
    """The status site of ``core`` (when ``channels.site`` is on) with its email forms (when
    subscriptions are on and links can be signed), under ``channels.site.path``."""
    if core.site is None:
        return
    prefix = core.config.site.path
    subscriptions = core.subscriptions
    if subscriptions is not None and subscriptions.desk is not None:
        organisation = core.config.organisation
        page = PageContext(
            organisation=organisation, logo_url=organisation.logo_url, subscribe=True
        )
        services = [(slug, name) for name, slug in catalog_slugs(core.config).items()]
        add_subscription_routes(app, subscriptions.desk, page, prefix, services)
    add_site_routes(app, core.site, prefix)
