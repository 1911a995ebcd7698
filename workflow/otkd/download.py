"""Download stage: offline first, checksum always.

A file is declared by its real URL and sha256. It is taken from the first local
mirror root (laid out as ``HOST/PATH``) that has it; otherwise it is streamed from
its URL with a timeout and a few retries with exponential back-off (never on
HTTP 4xx). Either way its sha256 is checked before
it is moved into place, so a mismatch leaves no file behind.

What may be downloaded is data, not configuration: the manifest
``workflow/resources/downloads.tsv`` (tab-separated, header ``url<TAB>sha256``) lists
every file the data stage reads. A config may point ``downloads_manifest`` at another
manifest and add or override entries with ``extra_downloads`` (see ``download_entries``).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from .io import PipelineError, atomic_path

log = logging.getLogger(__name__)
CHUNK = 1 << 20
MANIFEST = Path(__file__).resolve().parent.parent / "resources" / "downloads.tsv"
MANIFEST_COLUMNS = ["url", "sha256"]
_URL = re.compile(r"^(https?|file)://")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def local_name(url: str) -> str:
    """``HOST/PATH`` of a URL: its place in a mirror root and under results/download/."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return parsed.path.lstrip("/")
    if not parsed.netloc or not parsed.path.strip("/"):
        raise PipelineError(
            f"download URL {url!r} (download manifest or config key 'extra_downloads') "
            "has no host or path"
        )
    return f"{parsed.netloc}{parsed.path}"


def read_manifest(path: str | Path = MANIFEST) -> dict[str, dict[str, str]]:
    """Entries of a download manifest, ``{url: {"url": url, "sha256": hex}}`` in file order.

    The file is tab-separated with the header ``url<TAB>sha256``. A missing file, another
    header, a malformed URL or sha256 (64 lower-case hex digits) or a URL listed twice
    raises PipelineError naming the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(
            f"download manifest {path}: cannot read it ({exc}); set config key "
            "'downloads_manifest' to a TSV with columns url, sha256"
        ) from None
    rows = csv.reader(text.splitlines(), delimiter="\t")
    header = next(rows, None)
    if header != MANIFEST_COLUMNS:
        raise PipelineError(
            f"{path}:1: header must be {'<TAB>'.join(MANIFEST_COLUMNS)}, got {header!r}"
        )
    entries: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(MANIFEST_COLUMNS):
            raise PipelineError(f"{path}:{line}: expected 2 tab-separated fields, got {row!r}")
        url, sha256 = row
        if not _URL.match(url):
            raise PipelineError(f"{path}:{line}: {url!r} is not an http(s) or file URL")
        if not _SHA256.match(sha256):
            raise PipelineError(
                f"{path}:{line}: sha256 of {url} must be 64 lower-case hex digits, got {sha256!r}"
            )
        if url in entries:
            raise PipelineError(f"{path}:{line}: {url} is listed twice")
        entries[url] = {"url": url, "sha256": sha256}
    return entries


def download_entries(config: Mapping) -> dict[str, dict[str, str]]:
    """Every declared download, keyed by its ``local_name``: the manifest, then the config.

    The manifest is config key ``downloads_manifest`` (a path, relative to the working
    directory) or, when unset, ``MANIFEST``; entries of config key ``extra_downloads``
    (``url`` and ``sha256``) are added, replacing a manifest entry with the same URL.
    """
    entries = read_manifest(config.get("downloads_manifest") or MANIFEST)
    for entry in config.get("extra_downloads", []):
        entries[entry["url"]] = {"url": entry["url"], "sha256": entry["sha256"]}
    return {local_name(url): entry for url, entry in entries.items()}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def find_in_mirrors(url: str, mirrors: list[str | Path]) -> Path | None:
    """The first mirror copy of ``url``; mirror roots that do not exist are skipped."""
    name = local_name(url)
    for root in mirrors:
        root = Path(root)
        if not root.is_dir():
            log.info("mirror root %s absent, skipped", root)
            continue
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def _stream(url: str, dest: Path, timeout: float, retries: int, backoff_s: float = 1.0) -> None:
    """Stream ``url`` to ``dest``; retry network errors and HTTP 5xx, never HTTP 4xx.

    A 4xx answer (404: the file is not there) is not transient and fails at once. Between
    attempts the wait doubles: ``backoff_s``, ``2 * backoff_s``, ``4 * backoff_s``... seconds.
    """
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
                shutil.copyfileobj(resp, out, CHUNK)
            return
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise PipelineError(
                    f"cannot fetch {url}: not in any mirror and HTTP {exc.code} {exc.reason} (not retried: a client "
                    "error is not transient); check the URL in config key 'downloads' or put "
                    "the file in a mirror root"
                ) from exc
            last = exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            last = exc
        log.warning("download %s failed (attempt %d/%d): %s", url, attempt, retries, last)
        if attempt < retries:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    raise PipelineError(
        f"cannot fetch {url}: not in any mirror and download failed after {retries} "
        f"attempt(s): {last}"
    )


def fetch(
    url: str,
    sha256: str,
    dest: str | Path,
    mirrors: list[str | Path] = (),
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff_s: float = 1.0,
) -> str:
    """Place the file behind ``url`` at ``dest`` after checking its sha256.

    Returns ``"mirror"`` or ``"network"``. No network is touched when a mirror
    has the file. Network errors and HTTP 5xx are retried (``retries`` attempts in all)
    after ``backoff_s``, ``2 * backoff_s``, ... seconds; HTTP 4xx fails at once. A checksum
    mismatch raises PipelineError naming the URL and
    both hashes, and nothing is left at ``dest``.
    """
    dest = Path(dest)
    source = find_in_mirrors(url, list(mirrors))
    with atomic_path(dest) as tmp:
        if source is not None:
            log.info("%s: from mirror %s", url, source)
            shutil.copyfile(source, tmp)
            origin = "mirror"
        else:
            log.info("%s: not mirrored, downloading", url)
            _stream(url, tmp, timeout, retries, backoff_s)
            origin = "network"
        actual = sha256_file(tmp)
        if actual != sha256.lower():
            raise PipelineError(
                f"checksum mismatch for {url} (from {source or 'network'}): "
                f"expected sha256 {sha256}, got {actual}"
            )
    return origin
