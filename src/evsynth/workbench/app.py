"""The screening page: ``evsynth screen --serve``, a small web app on this machine only.

Framework: Flask (Pallets), on Werkzeug's threaded server. Why: it is small,
maintained by the team that maintains Jinja2 (already the page renderer here,
so the same autoescaping templates serve both pages), and gives routing, JSON
request parsing and a test client without a server; its development server is
enough for one person's page on 127.0.0.1. The standard library's
``http.server`` would need hand-written routing, body parsing and header
handling, which is where the security checks below would be easiest to get
wrong. Flask is imported inside the functions that need it, so ``evsynth``'s
other commands do not pay its start-up.

What the page does is in :class:`evsynth.workbench.session.ScreeningSession`;
this module only serves it. Security (the page can change the screening log):

* it listens on 127.0.0.1 only; every address carries a random token
  (``secrets.token_urlsafe``, 32 bytes): without it every request is 404;
* the ``Host`` header must name 127.0.0.1 or localhost with this port, so a
  web page that rebinds its own DNS name to 127.0.0.1 is refused (400);
* a POST must be JSON (``Content-Type: application/json``, which a cross-site
  form cannot send without a CORS preflight this server never grants), its
  ``Origin`` (when sent) must be this page's, and ``Sec-Fetch-Site`` (when
  sent) ``same-origin``: cross-site POSTs are refused (403);
* record text reaches the page only as JSON inserted with ``textContent``
  (and Jinja2 autoescaping in the conflicts view), under a Content-Security-Policy
  that allows no inline script, no other origin, no framing; no referrer is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evsynth import __version__
from evsynth.core.errors import EvsynthError
from evsynth.workbench.session import ScreeningSession

if TYPE_CHECKING:
    from jinja2 import Environment

HOST = "127.0.0.1"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC = {"app.js": "application/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}


#: The largest JSON body the page accepts (a decision is a few hundred bytes), and its deepest nesting.
MAX_BODY = 65_536
MAX_DEPTH = 8


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text *raw* (strings skipped; no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_body(raw: bytes) -> Any:
    """The JSON value of a request body within :data:`MAX_DEPTH`, or :class:`EvsynthError` (a JSON 400)."""
    import json

    if json_depth(raw) > MAX_DEPTH:
        raise EvsynthError(f"the request body nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EvsynthError("the request body is not valid JSON") from None


def _static(name: str) -> str:
    from importlib import resources

    return resources.files("evsynth.workbench").joinpath(f"templates/screening.{name}").read_text(
        encoding="utf-8")


def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, select_autoescape  # only when a page is served

    return Environment(loader=PackageLoader("evsynth.workbench", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


@dataclass
class Allowed:
    """The port once bound, hence the Host and Origin values this page accepts."""

    port: int = 0

    @property
    def hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def origins(self) -> set[str]:
        return {f"http://{h}" for h in self.hosts}


def create_app(session: ScreeningSession, token: str, allowed: Allowed) -> Any:
    """The Flask app of the page for *session*, answering only under ``/<token>/``."""
    import hmac

    from flask import Flask, Response, abort, jsonify, request

    app = Flask("evsynth-screening", static_folder=None)
    env = _environment()
    page = env.get_template("screening.html.j2")
    conflicts_page = env.get_template("screening-conflicts.html.j2")

    def check_token(given: str) -> None:
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(404)

    @app.before_request
    def guard() -> Any:
        # the header itself (Werkzeug would fill in the server's own address for a request without one)
        if request.headers.get("Host") not in allowed.hosts:
            return Response("Host not allowed\n", status=400, mimetype="text/plain")
        if request.method not in ("GET", "HEAD", "POST"):
            return Response("Method not allowed\n", status=405, mimetype="text/plain")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin not in allowed.origins:
                return Response("Cross-site request refused\n", status=403, mimetype="text/plain")
            site = request.headers.get("Sec-Fetch-Site")
            if site is not None and site not in ("same-origin", "none"):
                return Response("Cross-site request refused\n", status=403, mimetype="text/plain")
            if request.mimetype != "application/json":
                return Response("JSON only\n", status=415, mimetype="text/plain")
        return None

    @app.after_request
    def headers(response: Any) -> Any:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    @app.errorhandler(EvsynthError)
    def refused(exc: EvsynthError) -> Any:
        return jsonify({"error": str(exc)}), 400

    @app.get("/<given>/")
    def index(given: str) -> Any:
        check_token(given)
        html = page.render(base=f"/{token}/", version=__version__, reviewer=session.reviewer,
                           second=session.second or "", log=session.path.name)
        return Response(html, mimetype="text/html")

    @app.get("/<given>/<name>")
    def asset(given: str, name: str) -> Any:
        check_token(given)
        if name not in STATIC:
            abort(404)
        return Response(_static(name.split(".")[1]), content_type=STATIC[name])

    @app.get("/<given>/api/state")
    def state(given: str) -> Any:
        check_token(given)
        return jsonify(session.state())

    def body() -> dict[str, Any]:
        raw = request.stream.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise EvsynthError(f"the request body is over {MAX_BODY:,} bytes")
        data = parse_body(raw)
        if not isinstance(data, dict):
            raise EvsynthError("the request body must be a JSON object")
        return data

    def text(data: dict[str, Any], key: str) -> str:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise EvsynthError(f"{key} must be text")
        return value.strip()

    @app.post("/<given>/api/decide")
    def decide(given: str) -> Any:
        check_token(given)
        data = body()
        session.decide(text(data, "record_id"), text(data, "decision"),
                       reason=text(data, "reason"), note=text(data, "note"),
                       allow_retracted=data.get("allow_retracted") is True)
        return jsonify(session.state())

    @app.post("/<given>/api/skip")
    def skip(given: str) -> Any:
        check_token(given)
        session.skip(text(body(), "record_id"))
        return jsonify(session.state())

    @app.post("/<given>/api/undo")
    def undo(given: str) -> Any:
        check_token(given)
        body()
        session.undo()
        return jsonify(session.state())

    @app.get("/<given>/conflicts")
    def conflicts(given: str) -> Any:
        check_token(given)
        if session.blind:
            abort(403)
        html = conflicts_page.render(base=f"/{token}/", version=__version__,
                                     reviewers=session.conflicts(), log=session.path.name)
        return Response(html, mimetype="text/html")

    return app


def _check_port(port: int) -> None:
    """Refuse a port already in use in one line (Werkzeug would print its own lines and exit)."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))
    except OSError as exc:
        raise EvsynthError(f"--port {port}: cannot listen on {HOST} ({exc.strerror or exc}); "
                           "another program uses it: choose another port, or leave --port out") from None
    finally:
        probe.close()


class WorkbenchServer:
    """The page's HTTP server, bound to 127.0.0.1; :attr:`url` is its address with the token."""

    def __init__(self, session: ScreeningSession, port: int = 0, token: str | None = None) -> None:
        import logging

        from werkzeug.serving import make_server as werkzeug_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        import secrets

        self.token = token or secrets.token_urlsafe(32)
        self.allowed = Allowed()
        self.app = create_app(session, self.token, self.allowed)
        if port:
            _check_port(port)
        try:
            self._server = werkzeug_server(HOST, port, self.app, threaded=True)
        except (OSError, SystemExit) as exc:
            reason = getattr(exc, "strerror", None) or "in use"
            raise EvsynthError(f"--port {port}: cannot listen on {HOST} ({reason})") from None
        self.allowed.port = self._server.port

    @property
    def port(self) -> int:
        return self.allowed.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/TOKEN/``."""
        return f"http://{HOST}:{self.port}/{self.token}/"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        self._server.shutdown()

    def server_close(self) -> None:
        self._server.server_close()


def make_server(session: ScreeningSession, port: int = 0) -> WorkbenchServer:
    """A server for *session* on 127.0.0.1:*port* (0: a free port), not yet serving."""
    return WorkbenchServer(session, port)
