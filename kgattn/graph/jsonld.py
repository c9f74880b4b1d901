"""An offline document loader for JSON-LD: contexts are inlined before rdflib sees the document.

JSON-LD lets a document name its ``@context`` (and a context its ``@import``) by URL; a
parser that follows those URLs reaches any host while "reading a file", lets remote content
change the graph, and hangs on a server that never answers. rdflib has no document-loader
hook, so kgattn resolves every context reference itself, before parsing:

* a context reference to a ``file:`` URL (e.g. ``"context.jsonld"`` beside the document) is
  read from disk: a regular file of at most :data:`MAX_CONTEXT_BYTES`;
* an ``http(s):`` reference is a :class:`~kgattn.errors.GraphFormatError` naming the URL,
  unless the caller passed ``allow_remote=True``: then it is fetched with a timeout
  (``timeout`` seconds for the whole response) and the same size limit;
* any other scheme is refused; contexts may nest :data:`MAX_CONTEXT_DEPTH` deep and a
  document may reference at most :data:`MAX_CONTEXTS` distinct URLs; a cycle is an error.

The document handed to rdflib then holds no reference at all, so rdflib never opens a URL.
The same walk refuses an ``@id`` that is neither a string nor ``null`` (rdflib would silently
turn ``"@id": 5`` into a blank node).
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

from kgattn.errors import GraphFormatError

#: Largest context document read from disk or the network.
MAX_CONTEXT_BYTES = 10 << 20
#: Deepest chain of contexts referencing contexts.
MAX_CONTEXT_DEPTH = 8
#: Most distinct context URLs one document may reference.
MAX_CONTEXTS = 64
#: Seconds a remote context may take to arrive when ``allow_remote=True``.
DEFAULT_REMOTE_TIMEOUT = 10.0


def parse_json(data: bytes, path: Path):
    try:
        return json.loads(data)
    except UnicodeDecodeError as e:
        raise GraphFormatError(f"malformed json-ld: not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    except json.JSONDecodeError as e:
        raise GraphFormatError(f"malformed json-ld: {e.msg}", path, e.lineno) from None


class ContextLoader:
    """Resolves the context references of one JSON-LD document (see the module docstring)."""

    def __init__(self, path: Path, allow_remote: bool = False, timeout: float = DEFAULT_REMOTE_TIMEOUT):
        self.path, self.allow_remote, self.timeout = path, allow_remote, timeout
        self.cache: dict[str, object] = {}

    def inline(self, doc):
        """``doc`` with every ``@context``/``@import`` reference replaced by its content (in place)."""
        self._walk(doc, self.path.resolve().as_uri(), "$", ())
        return doc

    # ------------------------------------------------------------------ walking
    def _walk(self, node, base: str, loc: str, stack: tuple) -> None:
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if key == "@context":
                    node[key] = self._context(value, base, f"{loc}.@context", stack)
                elif key == "@id" and value is not None and not isinstance(value, str):
                    raise GraphFormatError(f"{loc}.@id is {value!r}; an @id must be a string (an IRI or "
                                           "a blank node label)", self.path)
                else:
                    self._walk(value, base, f"{loc}.{key}", stack)
        elif isinstance(node, list):
            for k, item in enumerate(node):
                self._walk(item, base, f"{loc}[{k}]", stack)

    def _context(self, ctx, base: str, loc: str, stack: tuple):
        if isinstance(ctx, str):
            url = urljoin(base, ctx)
            inner = self._load(url, loc, stack)
            return self._context(inner, url, f"{url} @context", stack + (url,))
        if isinstance(ctx, list):
            out: list = []
            for k, item in enumerate(ctx):
                resolved = self._context(item, base, f"{loc}[{k}]", stack)
                out.extend(resolved if isinstance(resolved, list) else [resolved])
            return out
        if isinstance(ctx, dict):
            ctx = dict(ctx)
            if "@import" in ctx:
                ref = ctx.pop("@import")
                if not isinstance(ref, str):
                    raise GraphFormatError(f"{loc}.@import must be a URL string, got {ref!r}", self.path)
                url = urljoin(base, ref)
                imported = self._context(self._load(url, loc, stack), url, f"{url} @context", stack + (url,))
                if not isinstance(imported, dict):
                    raise GraphFormatError(f"{loc}.@import: {url} holds no context object", self.path)
                ctx = {**imported, **ctx}  # local definitions override imported ones
            self._walk(ctx, base, loc, stack)  # scoped contexts inside term definitions
            return ctx
        return ctx  # null (resets the active context) or an invalid value rdflib reports

    # ------------------------------------------------------------------ loading
    def _load(self, url: str, loc: str, stack: tuple):
        """The ``@context`` value of the context document at ``url``."""
        if url in stack:
            raise GraphFormatError(f"{loc}: context {url} includes itself", self.path)
        if len(stack) >= MAX_CONTEXT_DEPTH:
            raise GraphFormatError(f"{loc}: contexts nested deeper than {MAX_CONTEXT_DEPTH} ({url})", self.path)
        if url not in self.cache:
            if len(self.cache) >= MAX_CONTEXTS:
                raise GraphFormatError(f"{loc}: more than {MAX_CONTEXTS} context documents ({url})", self.path)
            scheme = urlparse(url).scheme.lower()
            if scheme == "file":
                data = self._read_file(url, loc)
            elif scheme in ("http", "https"):
                if not self.allow_remote:
                    raise GraphFormatError(
                        f"{loc}: remote JSON-LD context {url} not fetched: parsing never reaches the network; "
                        "inline the context, save it beside the file, or pass allow_remote=True", self.path)
                data = self._fetch(url, loc)
            else:
                raise GraphFormatError(f"{loc}: context URL {url} has an unsupported scheme {scheme!r}",
                                       self.path)
            try:
                doc = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise GraphFormatError(f"{loc}: context document {url} is not JSON ({e})", self.path) from None
            if not isinstance(doc, dict) or "@context" not in doc:
                raise GraphFormatError(f"{loc}: context document {url} has no top-level @context", self.path)
            self.cache[url] = doc["@context"]
        return self.cache[url]

    def _read_file(self, url: str, loc: str) -> bytes:
        local = Path(urllib.request.url2pathname(urlparse(url).path))
        if not local.is_file():
            raise GraphFormatError(f"{loc}: context file {local} does not exist or is not a regular file",
                                   self.path)
        if local.stat().st_size > MAX_CONTEXT_BYTES:
            raise GraphFormatError(f"{loc}: context file {local} is larger than {MAX_CONTEXT_BYTES} bytes",
                                   self.path)
        return local.read_bytes()

    def _fetch(self, url: str, loc: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        request = urllib.request.Request(url, headers={"Accept": "application/ld+json, application/json"})
        chunks, size = [], 0
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    if size > MAX_CONTEXT_BYTES:
                        raise GraphFormatError(f"{loc}: remote context {url} is larger than {MAX_CONTEXT_BYTES} "
                                               "bytes", self.path)
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    chunks.append(chunk)
        except (TimeoutError, urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(e, TimeoutError) or isinstance(reason, TimeoutError):
                raise GraphFormatError(f"{loc}: remote JSON-LD context {url} did not arrive within "
                                       f"{self.timeout:g} s (timeout)", self.path) from None
            raise GraphFormatError(f"{loc}: cannot fetch remote JSON-LD context {url}: {reason}", self.path) from None
        return b"".join(chunks)
