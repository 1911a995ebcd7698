"""Download stage: mirror first, network fallback (a local HTTP server), sha256 always."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import urllib.request
from pathlib import Path

import pytest
from otkd import download
from otkd.download import fetch, find_in_mirrors, local_name
from otkd.io import PipelineError

CONTENT = b"line one\nline two\n"
SHA = hashlib.sha256(CONTENT).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture()
def server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving ``tmp_path/www`` (404 for anything else)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network touched although the file is mirrored")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_local_name():
    assert local_name("https://raw.githubusercontent.com/o/r/main/a/b.txt") == (
        "raw.githubusercontent.com/o/r/main/a/b.txt"
    )
    with pytest.raises(PipelineError, match="config key 'extra_downloads'"):
        local_name("https://example.org/")


def test_mirror_hit_touches_no_network(tmp_path, no_network):
    url = "https://example.org/data/a.txt"
    mirror = tmp_path / "mirror"
    (mirror / "example.org/data").mkdir(parents=True)
    (mirror / "example.org/data/a.txt").write_bytes(CONTENT)
    dest = tmp_path / "out" / "a.txt"
    origin = fetch(url, SHA, dest, [tmp_path / "absent", mirror])
    assert origin == "mirror" and dest.read_bytes() == CONTENT
    assert leftovers(dest.parent) == ["a.txt"]
    assert find_in_mirrors("https://example.org/data/b.txt", [mirror]) is None


def test_wrong_checksum_leaves_no_file(tmp_path, no_network):
    url = "https://example.org/data/a.txt"
    mirror = tmp_path / "mirror"
    (mirror / "example.org/data").mkdir(parents=True)
    (mirror / "example.org/data/a.txt").write_bytes(CONTENT + b"tampered")
    dest = tmp_path / "out" / "a.txt"
    with pytest.raises(PipelineError) as err:
        fetch(url, SHA, dest, [mirror])
    msg = str(err.value)
    actual = hashlib.sha256(CONTENT + b"tampered").hexdigest()
    assert url in msg and SHA in msg and actual in msg and "checksum mismatch" in msg
    assert leftovers(dest.parent) == []


def count_urlopen(monkeypatch) -> list[str]:
    """Record every URL passed to urlopen (the real one still runs)."""
    calls: list[str] = []
    real = urllib.request.urlopen

    def counting(url, *args, **kwargs):
        calls.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting)
    return calls


def record_sleep(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(download.time, "sleep", waits.append)
    return waits


def test_missing_everywhere_fails_at_once_on_404(tmp_path, server, monkeypatch):
    _, base = server  # the server has no such file: 404, which is not retried
    url = f"{base}/data/missing.txt"
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    dest = tmp_path / "out" / "missing.txt"
    calls, waits = count_urlopen(monkeypatch), record_sleep(monkeypatch)
    with pytest.raises(PipelineError) as err:
        fetch(url, SHA, dest, [empty_mirror, tmp_path / "absent"], timeout=5, retries=3)
    msg = str(err.value)
    assert url in msg and "not in any mirror" in msg and "HTTP 404" in msg, msg
    assert "not retried" in msg
    assert calls == [url] and waits == []
    assert leftovers(dest.parent) == []


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` requests, then 200 with CONTENT."""

    failures = 0
    seen = 0

    def do_GET(self):
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            self.send_error(503, "busy")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.end_headers()
        self.wfile.write(CONTENT)

    def log_message(self, *args):
        pass


@pytest.fixture()
def flaky_server():
    handler = type("Flaky", (FlakyHandler,), {"failures": 2, "seen": 0})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_503_is_retried_with_exponential_backoff(tmp_path, flaky_server, monkeypatch):
    handler, base = flaky_server  # 503, 503, then 200
    url = f"{base}/data/a.txt"
    dest = tmp_path / "out" / "a.txt"
    waits = record_sleep(monkeypatch)
    assert fetch(url, SHA, dest, [], timeout=5, retries=4, backoff_s=0.5) == "network"
    assert dest.read_bytes() == CONTENT
    assert handler.seen == 3
    assert waits == [0.5, 1.0]  # backoff_s, then doubled


def test_5xx_every_time_gives_up_after_retries(tmp_path, flaky_server, monkeypatch):
    handler, base = flaky_server
    handler.failures = 99
    url = f"{base}/data/a.txt"
    dest = tmp_path / "out" / "a.txt"
    waits = record_sleep(monkeypatch)
    with pytest.raises(PipelineError) as err:
        fetch(url, SHA, dest, [], timeout=5, retries=3)
    msg = str(err.value)
    assert url in msg and "3 attempt(s)" in msg and "503" in msg, msg
    assert handler.seen == 3 and waits == [1.0, 2.0]  # default back-off: 1 s, 2 s
    assert leftovers(dest.parent) == []


def test_unreachable_host_fails_cleanly(tmp_path):
    with socket_closed_port() as port:
        url = f"http://127.0.0.1:{port}/a.txt"
    dest = tmp_path / "out" / "a.txt"
    with pytest.raises(PipelineError, match="cannot fetch"):
        fetch(url, SHA, dest, [], timeout=2, retries=1)
    assert leftovers(dest.parent) == []


def test_network_download_when_not_mirrored(tmp_path, server):
    root, base = server
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_bytes(CONTENT)
    dest = tmp_path / "out" / "a.txt"
    origin = fetch(f"{base}/data/a.txt", SHA, dest, [tmp_path / "mirror"], timeout=5)
    assert origin == "network" and dest.read_bytes() == CONTENT
    # Served bytes that do not match the declared hash leave nothing behind.
    (root / "data" / "b.txt").write_bytes(b"other")
    with pytest.raises(PipelineError, match="checksum mismatch"):
        fetch(f"{base}/data/b.txt", SHA, tmp_path / "out" / "b.txt", [], timeout=5)
    assert leftovers(dest.parent) == ["a.txt"]


class socket_closed_port:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()
