"""The web page's start script: ``streamlit run apps/serve.py`` (what ``make web`` runs), from any folder.

It serves :mod:`streamlit_app` (the page) as a Streamlit ``st.App`` with one small ASGI middleware that
adds two headers to every HTTP response, so no other site can show the page inside a frame and keep this
machine busy from there (clickjacking; docs/safety.md):

* ``X-Frame-Options: DENY`` (every browser), and
* ``Content-Security-Policy: frame-ancestors 'none'`` (the standard that replaces it).

The server's address comes from ``apps/.streamlit/config.toml`` (``127.0.0.1``), which Streamlit reads
beside this script wherever it is started from; ``--server.address 0.0.0.0`` (``make web SHARE=1``) is
the one way to share the page on the network, and the page then shows a warning.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

#: headers added to every HTTP response of the page
FRAMING_HEADERS = ((b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"))
#: set while the page is served by this script (app_logic.ENV_SERVED_BY: the page warns without it)
SERVED_BY = "NST_WEB_SERVED_BY"


class DenyFraming:
    """ASGI middleware: adds :data:`FRAMING_HEADERS` to every HTTP response (WebSockets pass through)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [header for header in FRAMING_HEADERS if header[0] not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


os.environ[SERVED_BY] = "apps/serve.py"
app = st.App(str(Path(__file__).with_name("streamlit_app.py")), middleware=[Middleware(DenyFraming)])

if __name__ == "__main__":  # python apps/serve.py works too
    app.run()
