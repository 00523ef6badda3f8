"""Drive the web page like a browser tab, over Streamlit's own websocket protocol (tests and benchmarks).

    tab = PageSession("http://127.0.0.1:8501", query="size=48&steps=3")
    tab.choose("content_source", "Upload")
    tab.upload("content_upload", "photo.png", png_bytes, "image/png")
    tab.click("run")
    tab.wait_for(lambda: tab.download_url(), timeout=120)
    result_png = tab.get(tab.download_url())
    tab.close()                                        # = closing the tab

A :class:`PageSession` does what the browser's Streamlit client does, no more: it fetches the XSRF
cookie (from ``/_stcore/health``, as the browser does), opens ``/_stcore/stream``, sends ``BackMsg``
protobufs (script reruns with widget states, file-URL requests), uploads files with
``PUT /_stcore/upload_file/…``, re-sends a fragment's rerun every ``run_every`` interval the server asks
for (as the browser's timers do) and rebuilds the page from the ``ForwardMsg`` deltas, dropping the
elements a run did not send again. It records a timeline of what
appeared (alerts, progress texts) so tests can check what a person would have seen, and when.

Used by ``tests/test_app_load.py`` (several tabs against one server) and ``benchmarks/web_load.py``.
Widgets are addressed by their ``key=`` (Streamlit puts the key at the end of a widget's element id).
"""
from __future__ import annotations

import http.cookiejar
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import websocket  # websocket-client
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
FINISHED_EARLY_FOR_RERUN = 2


@dataclass
class Element:
    """One element on the page: its proto kind, the proto, and which run last sent it."""

    kind: str
    proto: Any
    fragment_id: str
    run: int


@dataclass(frozen=True)
class Seen:
    """A timeline entry: at ``t`` (seconds since the tab opened) an element of ``kind`` showed ``text``."""

    t: float
    kind: str
    text: str


class PageSession:
    """One browser tab of the page, simulated over a websocket (see the module docstring)."""

    def __init__(self, base: str, query: str = "", timeout: float = 60.0):
        self.base = base.rstrip("/")
        self.query = query
        self.timeout = timeout
        self.started = time.monotonic()
        self.session_id = ""
        self.timeline: list[Seen] = []
        #: ("full" | "fragment", seconds from our request to the run's end) per finished run: how long
        #: the page took to answer, as a person would feel it
        self.run_durations: list[tuple[str, float]] = []
        self._elements: dict[tuple[int, ...], Element] = {}
        self._widget_ids: dict[str, str] = {}
        self._widget_states: dict[str, WidgetState] = {}
        self._auto_reruns: dict[str, threading.Event] = {}
        self._file_urls: dict[str, Any] = {}
        self._run = 0
        self._run_fragments: tuple[str, ...] = ()
        self._finished_runs = 0
        self._requested_at: float | None = None  # the oldest rerun request not answered yet
        self._condition = threading.Condition()
        self._closed = threading.Event()
        self._send_lock = threading.Lock()

        jar = http.cookiejar.CookieJar()
        self._http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self._http.open(f"{self.base}/_stcore/health", timeout=timeout).read()  # sets the XSRF cookie
        self.xsrf = next((c.value for c in jar if c.name == XSRF_COOKIE), "")
        host = self.base.split("://", 1)[1]
        self._ws = websocket.create_connection(
            f"ws://{host}/_stcore/stream", timeout=timeout, suppress_origin=True,
            subprotocols=["streamlit", self.xsrf] if self.xsrf else ["streamlit"],
            cookie=f"{XSRF_COOKIE}={self.xsrf}" if self.xsrf else None,
        )
        self._reader = threading.Thread(target=self._read, name="tab-reader", daemon=True)
        self._reader.start()
        self.rerun()

    # ------------------------------------------------------------------------------------------ actions
    def rerun(self, *, fragment_id: str = "", triggers: dict[str, WidgetState] | None = None,
              wait: bool = True) -> float:
        """Send a script rerun with the widget states (and one-shot triggers); returns its duration."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = ""
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        widgets = {**self._widget_states, **(triggers or {})}
        state.widget_states.widgets.extend(widgets.values())
        with self._condition:
            before = self._finished_runs
        start = time.monotonic()
        with self._condition:
            self._requested_at = self._requested_at or start
        self._send(message)
        if wait:
            self.wait_for(lambda: self._finished_runs > before, what="the script run to finish")
        return time.monotonic() - start

    def choose(self, key: str, option: str) -> float:
        """Choose an option of the radio or selectbox with this key (by its shown label) and rerun."""
        self._widget_states[key] = WidgetState(id=self.widget_id(key), string_value=option)
        return self.rerun()

    def set_number(self, key: str, value: float) -> float:
        """Type a value into the number input with this key and rerun."""
        self._widget_states[key] = WidgetState(id=self.widget_id(key), double_value=float(value))
        return self.rerun()

    def click(self, key: str) -> float:
        """Press the button with this key (a one-shot trigger) and wait for the run it starts."""
        return self.rerun(triggers={key: WidgetState(id=self.widget_id(key), trigger_value=True)})

    def upload(self, key: str, name: str, data: bytes, mime: str = "image/png") -> float:
        """Upload one file into the file uploader with this key, as the browser does, and rerun."""
        widget_id = self.widget_id(key)
        request = BackMsg()
        request_id = uuid.uuid4().hex
        request.file_urls_request.request_id = request_id
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        self._send(request)
        self.wait_for(lambda: request_id in self._file_urls, what="the upload URL")
        urls = self._file_urls.pop(request_id).file_urls[0]
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        put = urllib.request.Request(f"{self.base}{urls.upload_url}", data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.xsrf})
        with self._http.open(put, timeout=self.timeout) as response:
            assert response.status in (200, 204), response.status
        state = WidgetState(id=widget_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self._widget_states[key] = state
        return self.rerun()

    def get(self, path: str) -> bytes:
        """GET a path of the server (a media file, the result's download) with this tab's cookies."""
        with self._http.open(f"{self.base}{path}", timeout=self.timeout) as response:
            return response.read()

    def close(self) -> None:
        """Close the tab: the websocket goes away, as when a person closes the browser tab."""
        self._closed.set()
        for stop in self._auto_reruns.values():
            stop.set()
        try:
            self._ws.close()
        except Exception:  # noqa: BLE001,S110 - already closed
            pass
        self._reader.join(5)

    def __enter__(self) -> "PageSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ reading
    def widget_id(self, key: str) -> str:
        self.wait_for(lambda: key in self._widget_ids, what=f"the widget {key!r}")
        return self._widget_ids[key]

    def elements(self, kind: str | None = None) -> list[Element]:
        """The elements now on the page (in page order), optionally of one proto kind."""
        with self._condition:
            items = sorted(self._elements.items())
        return [e for _, e in items if kind is None or e.kind == kind]

    def texts(self, kind: str) -> list[str]:
        """The text of every element of ``kind`` now on the page ("alert", "progress", "markdown", …)."""
        return [_text(e.kind, e.proto) for e in self.elements(kind)]

    def download_url(self) -> str | None:
        buttons = self.elements("download_button")
        return buttons[0].proto.url if buttons else None

    def seen(self, kind: str, contains: str = "") -> list[Seen]:
        """Timeline entries of ``kind`` whose text contains ``contains``."""
        with self._condition:
            return [s for s in self.timeline if s.kind == kind and contains in s.text]

    def wait_for(self, condition: Callable[[], Any], timeout: float | None = None, what: str = "a condition") -> Any:
        """Wait until ``condition()`` is truthy (re-checked on every message); returns its value."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._condition:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"tab {self.session_id[:8]}: waited {timeout or self.timeout:.0f} s for {what}")
                if self._closed.is_set() and not self._reader.is_alive():
                    raise ConnectionError(f"tab {self.session_id[:8]} is closed while waiting for {what}")
                self._condition.wait(min(remaining, 0.2))

    # --------------------------------------------------------------------------------------- internals
    def _send(self, message: BackMsg) -> None:
        with self._send_lock:
            self._ws.send_binary(message.SerializeToString())

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._ws.recv()
            except Exception:  # noqa: BLE001 - closed by us or by the server
                break
            if not data:
                continue
            message = ForwardMsg()
            message.ParseFromString(data)
            with self._condition:
                self._handle(message)
                self._condition.notify_all()
        with self._condition:
            self._condition.notify_all()

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        now = time.monotonic() - self.started
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id or self.session_id
            self._run += 1
            self._run_fragments = tuple(message.metadata.run.fragment_ids)
            if not self._run_fragments:  # a full run: the browser drops every fragment timer
                for stop in self._auto_reruns.values():
                    stop.set()
                self._auto_reruns.clear()
        elif kind == "delta":
            delta = message.delta
            path = tuple(message.metadata.delta_path)
            which = delta.WhichOneof("type")
            if which == "new_element":
                element_kind = delta.new_element.WhichOneof("type")
                proto = getattr(delta.new_element, element_kind)
                self._elements[path] = Element(element_kind, proto, delta.fragment_id, self._run)
                widget_id = getattr(proto, "id", "")
                if isinstance(widget_id, str) and widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
                    self._widget_ids[widget_id.split("-", 2)[2]] = widget_id
                if element_kind in ("alert", "progress"):
                    self.timeline.append(Seen(now, element_kind, _text(element_kind, proto)))
            elif which == "add_block":
                self._elements[path] = Element("block", delta.add_block, delta.fragment_id, self._run)
        elif kind == "script_finished":
            status = message.script_finished
            if status != FINISHED_EARLY_FOR_RERUN:  # an interrupted run's leftovers stay until the next
                self._drop_stale()
            self._finished_runs += 1
            if self._requested_at is not None and status != FINISHED_EARLY_FOR_RERUN:
                self.run_durations.append(("fragment" if self._run_fragments else "full",
                                           time.monotonic() - self._requested_at))
                self._requested_at = None
        elif kind == "auto_rerun":
            fragment_id, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            if fragment_id not in self._auto_reruns:
                stop = threading.Event()
                self._auto_reruns[fragment_id] = stop
                threading.Thread(target=self._tick, args=(fragment_id, interval, stop), daemon=True).start()
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                stop = self._auto_reruns.pop(fragment_id, None)
                if stop is not None:
                    stop.set()
        elif kind == "file_urls_response":
            self._file_urls[message.file_urls_response.response_id] = message.file_urls_response

    def _drop_stale(self) -> None:
        if self._run_fragments:
            stale = [p for p, e in self._elements.items()
                     if e.fragment_id in self._run_fragments and e.run != self._run]
        else:
            stale = [p for p, e in self._elements.items() if e.run != self._run]
        for path in stale:
            del self._elements[path]

    def _tick(self, fragment_id: str, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                self.rerun(fragment_id=fragment_id, wait=False)
            except Exception:  # noqa: BLE001 - the tab was closed
                return


def _text(kind: str, proto: Any) -> str:
    if kind == "alert":
        return proto.body
    if kind == "progress":
        return proto.text
    if kind in ("markdown", "heading"):
        return proto.body
    if kind in ("button", "download_button"):
        return proto.label
    if kind == "imgs":
        return " | ".join(image.caption for image in proto.imgs)
    return ""
