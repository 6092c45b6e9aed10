"""Headless Chromium driven over the DevTools protocol, with a standard-library websocket client.

`render_page(html_path, screenshot_path)` opens a local file offline, waits for the load event,
and returns what a person would notice: the sections that rendered, every image with its
decoded size, console errors, uncaught exceptions and failed loads; it also saves a full-page
screenshot (PNG).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.processes import stop_process

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
    "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1400,1000",
]

_PAGE_PROBE = """(() => {
  const imgs = Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight, section: (i.closest('section') || {}).id || null}));
  const sections = Array.from(document.querySelectorAll('section')).map(s => ({id: s.id,
    heading: (s.querySelector('h2') || {}).textContent || '', height: s.getBoundingClientRect().height}));
  return JSON.stringify({title: document.title, images: imgs, sections: sections,
    text: document.body.innerText, width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight});
})()"""


@dataclass
class PageResult:
    """What the browser saw."""

    title: str
    sections: list[dict[str, Any]]
    images: list[dict[str, Any]]
    text: str
    console_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        return [i for i in self.images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed; `bash scripts/install.sh` installs the Debian package `chromium`")


def render_page(html_path: Path, screenshot_path: Path, profile_dir: Path, timeout: float = 40.0) -> PageResult:
    """Load `html_path` in headless Chromium; see the module docstring."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _devtools_port(profile_dir, proc, timeout)
        target = _page_target(port, timeout)
        with _WebSocket(target["webSocketDebuggerUrl"], timeout) as ws:
            return _drive(ws, html_path, screenshot_path, timeout)
    finally:
        stop_process(proc, timeout=10)


def _drive(ws: _WebSocket, html_path: Path, screenshot_path: Path, timeout: float) -> PageResult:
    errors: list[str] = []
    for method in ("Page.enable", "Runtime.enable", "Log.enable"):
        ws.call(method, {}, errors)
    ws.call("Page.navigate", {"url": html_path.resolve().as_uri()}, errors)
    ws.wait_event("Page.loadEventFired", errors, timeout)
    probe = ws.call("Runtime.evaluate", {"expression": _PAGE_PROBE, "returnByValue": True}, errors)
    page = json.loads(probe["result"]["value"])
    shot = ws.call("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": page["width"], "height": min(page["height"], 12000), "scale": 1},
    }, errors)
    screenshot_path.write_bytes(base64.b64decode(shot["data"]))
    ws.drain(errors, 0.3)
    return PageResult(page["title"], page["sections"], page["images"], page["text"], errors, screenshot_path)


def _devtools_port(profile_dir: Path, proc: subprocess.Popen, timeout: float) -> int:
    marker = profile_dir / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with status {proc.returncode} before opening DevTools")
        if marker.is_file():
            lines = marker.read_text().split()
            if lines:
                return int(lines[0])
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def _page_target(port: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", "/json/list")
            targets = json.loads(connection.getresponse().read() or b"[]")
        finally:
            connection.close()
        pages = [t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t]
        if pages:
            return pages[0]
        time.sleep(0.05)
    raise TimeoutError("chromium has no page target")


class _WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, (fragmented) frames in."""

    def __init__(self, url: str, timeout: float):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        header, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in header.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"websocket handshake failed: {header[:200]!r}")
        self.next_id = 0

    def __enter__(self) -> _WebSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def call(self, method: str, params: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        self.next_id += 1
        call_id = self.next_id
        self._send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message["result"]
            _record(message, errors)

    def wait_event(self, method: str, errors: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive()
            if message.get("method") == method:
                return
            _record(message, errors)
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, errors: list[str], seconds: float) -> None:
        self.sock.settimeout(seconds)
        try:
            while True:
                _record(self._receive(), errors)
        except (TimeoutError, socket.timeout):
            pass

    def _send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _receive(self) -> dict[str, Any]:
        data = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the websocket")
            if opcode in (0x9, 0xA):  # ping / pong: nothing to answer for a short session
                continue
            data += payload
            if first & 0x80:  # FIN
                return json.loads(data)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("DevTools websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out


def _record(message: dict[str, Any], errors: list[str]) -> None:
    """Keep console errors, uncaught exceptions and error-level log entries (e.g. failed loads)."""
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    elif method == "Runtime.exceptionThrown":
        errors.append("exception: " + params.get("exceptionDetails", {}).get("text", ""))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
