"""The status site's routes: every page, feed and JSON file, answered from memory.

    add_site_routes(crier.web, SiteCache(...), "/status/")  # before the app starts

A path is only ever looked up in the build's files (a dict): nothing here reads the disk, so a
path like ``../../etc/passwd`` is just a key that is not there.
"""

from __future__ import annotations

import html
import logging

from aiohttp import web

from bot.site.build import SiteBuild, SiteFile
from bot.site.cache import SiteCache

log = logging.getLogger(__name__)
SITE_KEY = web.AppKey("site", SiteCache)
SITE_PREFIX_KEY = web.AppKey("site_prefix", str)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Browsers and CDNs may keep a copy but must ask again each time: a publish is then seen at
# once, and asking is cheap (a 304 from memory, without a body), which is what holds a crowd.
REVALIDATE = {"Cache-Control": "public, no-cache"}

NOT_FOUND_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Not found</title><h1>Not found</h1>"
    '<p>There is no such page. <a href="{home}">See the current status</a>.</p></html>'
)

UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Status unavailable</title><h1>The status page is unavailable</h1>"
    "<p>It cannot be shown right now. Please try again in a minute.</p></html>"
)


async def site_file(request: web.Request) -> web.StreamResponse:
    """GET or HEAD ``{prefix}{path}``: the file, a 304 when the client's copy is current, a
    redirect to a page's own URL (its links are relative to ``…/``), or 404."""
    try:
        build = await request.app[SITE_KEY].current()
    except Exception:  # never built yet, and the database cannot be read (once built, the
        # cache keeps serving its last build): say so plainly, and when to come back
        log.exception("status site: cannot build it for %s", request.path)
        return unavailable()
    path = request.match_info["path"]
    found = build.files.get(path.removesuffix("/"))
    if found is None or (path.endswith("/") and not is_page(found)):
        return not_found(request.app[SITE_PREFIX_KEY])
    if is_page(found) and path and not path.endswith("/"):
        raise with_slash(request)
    headers = {**SECURITY_HEADERS, **REVALIDATE, "ETag": found.etag}
    if not_modified(request, found, build):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(body=found.body, headers=headers)
        response.headers["Content-Type"] = found.content_type  # with its charset, as built
    response.last_modified = build.modified
    return response


async def site_root_without_slash(request: web.Request) -> web.StreamResponse:
    raise with_slash(request)


def with_slash(request: web.Request) -> web.HTTPMovedPermanently:
    """A page lives at ``…/name/``: relative links in it resolve against that URL."""
    location = request.rel_url.with_path(request.path + "/")
    return web.HTTPMovedPermanently(location, headers={**SECURITY_HEADERS, **REVALIDATE})


def is_page(file: SiteFile) -> bool:
    """An HTML page: served at ``…/name/`` and exported as ``name/index.html``."""
    return file.content_type.startswith("text/html")


def not_modified(request: web.Request, file: SiteFile, build: SiteBuild) -> bool:
    """RFC 9110 §13.1: If-None-Match (weak comparison) decides when given; else
    If-Modified-Since, to the second that HTTP dates carry."""
    if (etags := request.if_none_match) is not None:
        return any(etag.value in ("*", file.etag.strip('"')) for etag in etags)
    since = request.if_modified_since
    return since is not None and build.modified.replace(microsecond=0) <= since


def unavailable() -> web.Response:
    return web.Response(
        status=503,
        text=UNAVAILABLE_PAGE,
        content_type="text/html",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store", "Retry-After": "30"},
    )


def not_found(prefix: str) -> web.Response:
    return web.Response(
        status=404,
        text=NOT_FOUND_PAGE.format(home=html.escape(prefix)),
        content_type="text/html",
        headers={**SECURITY_HEADERS, **REVALIDATE},
    )


def add_site_routes(app: web.Application, cache: SiteCache, prefix: str = "/status/") -> None:
    """Serve the site under ``prefix`` (which starts and ends with "/"); GET and HEAD."""
    if not (prefix.startswith("/") and prefix.endswith("/")):
        raise ValueError(f"the status site's prefix {prefix!r} must start and end with '/'")
    app[SITE_KEY], app[SITE_PREFIX_KEY] = cache, prefix
    if prefix != "/":
        app.router.add_get(prefix.rstrip("/"), site_root_without_slash)
    app.router.add_get(prefix + "{path:.*}", site_file)
