"""Web front end: the pages (chat, help center, agent console, admin), the embeddable /widget.js, and the
help-center API (/api/v1/docs). Pages are static shells whose JavaScript calls the JSON API; there is no
build step and no separate front-end server.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.request import Authenticator
from app.deps import CurrentUser, PageAdmin, PageAgent, PageEmployee, ServicesDep
from app.errors import ERROR_RESPONSES
from app.security import User
from app.web.help import HelpCenter
from app.web.schemas import DocOut, DocsOut, QueueOut

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
PAGES_DIR = WEB_DIR / "pages"
# /widget.js is these files joined: one <script> tag brings the whole chat client.
WIDGET_PARTS = ("js/core.js", "js/chat.js", "js/widget.js")

# Pages only run our own scripts and only talk to our own API; text from answers and documents is put in
# the page as text nodes, and this policy is the second line of defence if that ever slips.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-cache"}

api = APIRouter(prefix="/api/v1", tags=["help center"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


def get_help_center(request: Request, services: ServicesDep) -> HelpCenter:
    help_center = getattr(request.app.state, "help_center", None)
    if help_center is None or help_center.store is not services.store:
        help_center = request.app.state.help_center = HelpCenter(services.store)
    return help_center  # type: ignore[no-any-return]


HelpDep = Annotated[HelpCenter, Depends(get_help_center)]


@api.get("/docs", response_model=DocsOut)
def list_docs(user: CurrentUser, help_center: HelpDep) -> DocsOut:
    """The documents you may see, grouped by department (from the index build being served)."""
    return DocsOut.model_validate(help_center.departments(user.visible_groups))


@api.get("/docs/{doc_id:path}", response_model=DocOut)
def get_doc(doc_id: str, user: CurrentUser, help_center: HelpDep) -> DocOut:
    """One document, section by section, with anchors. 404 when it doesn't exist or you may not see it."""
    return DocOut.model_validate(help_center.document(doc_id, user.visible_groups))


@api.get("/queues", response_model=list[QueueOut], tags=["tickets"])
def queues(user: CurrentUser, services: ServicesDep) -> list[QueueOut]:
    """Ticket queues and their display names (for the chat widget and the agent console)."""
    return [QueueOut(id=key, name=q.name, group=q.group, confidential=q.confidential)
            for key, q in services.settings.queues.items()]


# --- pages -------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _render(name: str) -> str:
    """A page with the shared top bar (pages/_topbar.html) put in at its `<!-- topbar -->` marker."""
    html = (PAGES_DIR / name).read_text(encoding="utf-8")
    bar = (PAGES_DIR / "_topbar.html").read_text(encoding="utf-8")
    identity = '<div id="identity"></div>'
    html = html.replace("<!-- topbar lang -->\n", bar.replace("{tools}", '<div id="lang"></div>' + identity))
    return html.replace("<!-- topbar -->\n", bar.replace("{tools}", identity))


def _auth_meta(request: Request, user: User | None) -> str:
    """<meta name="ayuda-auth"> tells the page's JavaScript the mode; outside dev mode also who is signed in
    (from the proxy or the session, never from the browser) and the session's CSRF token."""
    auth: Authenticator = request.app.state.auth
    attrs: dict[str, str] = {"content": auth.mode}
    if user is not None:
        claims = auth.session_claims(request) or {}
        attrs |= {"data-user": user.id, "data-groups": ",".join(sorted(user.groups)),
                  "data-csrf": str(claims.get("csrf", ""))}
    body = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    return f'<meta name="ayuda-auth" {body}>\n'


def _page(name: str, request: Request, user: User | None) -> HTMLResponse:
    page = _render(name).replace("<head>\n", "<head>\n" + _auth_meta(request, user), 1)
    return HTMLResponse(page, headers=PAGE_HEADERS)


@pages.get("/")
def chat_page(request: Request, user: PageEmployee) -> HTMLResponse:
    return _page("chat.html", request, user)


@pages.get("/help")
def help_page(request: Request, user: PageEmployee) -> HTMLResponse:
    return _page("help.html", request, user)


@pages.get("/help/doc/{doc_id:path}")
def doc_page(doc_id: str, request: Request, user: PageEmployee) -> HTMLResponse:
    return _page("doc.html", request, user)


@pages.get("/help/faq/{slug}")
def faq_page(slug: str, user: PageEmployee) -> RedirectResponse:
    """Published FAQ articles carry `{public_url}/help/faq/<name>` as their url."""
    return RedirectResponse(f"/help/doc/faq/{slug}.md", status_code=307)


@pages.get("/agent")
def agent_page(request: Request, user: PageAgent) -> HTMLResponse:
    return _page("agent.html", request, user)


@pages.get("/admin")
def admin_page(request: Request, user: PageAdmin) -> HTMLResponse:
    return _page("admin.html", request, user)


@pages.get("/demo/intranet")
def demo_intranet(request: Request, user: PageEmployee) -> HTMLResponse:
    """A sample intranet page with the one-tag widget, to try it and to test it."""
    return _page("demo-intranet.html", request, user)


@lru_cache(maxsize=1)
def _widget_source(stamp: tuple[float, ...]) -> str:
    return "\n;\n".join((STATIC_DIR / part).read_text(encoding="utf-8") for part in WIDGET_PARTS)


@pages.get("/widget.js")
def widget_js() -> Response:
    """The embeddable chat: `<script src="https://ayuda.example/widget.js" data-user=… async></script>`."""
    stamp = tuple((STATIC_DIR / part).stat().st_mtime for part in WIDGET_PARTS)
    return Response(_widget_source(stamp), media_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
                             "Cross-Origin-Resource-Policy": "cross-origin"})
