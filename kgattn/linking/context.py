r"""Context representations for disambiguation, and node texts for graphs without descriptions.

Two ways to encode the text around a mention, both in the space of the backbone's sentence
encodings (so both compare with the same cached node encodings):

* ``"encoder"`` -- the backbone itself (:class:`kgattn.embeddings.TextEncoder`): best quality,
  one transformer forward pass per window.
* ``"static"`` -- :class:`StaticEncoder`, distilled per-wordpiece vectors (as Model2Vec does):
  every vocabulary entry :math:`t` is encoded once, alone, by the backbone,
  :math:`u_t = \mathrm{enc}(t)`, and a text is :math:`x = \mathrm{normalize}(\sum_{t \in T} u_t)`
  over its content wordpieces :math:`T` (stop words and punctuation dropped). A text costs a
  tokenizer call and a gather-sum: no transformer at link time.

:class:`DescribedGraph` gives nodes without a description one made from their edges
(``"<relation> <neighbour label>; ..."``), so that e.g. FB15k-237's two "Chicago" nodes (a
city and a film) get different encodings.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from kgattn.paths import cache_dir

STATIC_FORMAT = 1


class StaticEncoder:
    """Distilled static wordpiece vectors of a backbone (see the module docstring).

    Args:
        backbone: path or name (see :func:`kgattn.backbone.resolve_backbone`).
        stop_words: wordpieces that are these words carry no weight (default spaCy's English list).
        batch_size: vocabulary entries per forward pass while distilling (done once, then cached
            on disk under ``$KGATTN_CACHE/static_vectors`` keyed by the backbone fingerprint).
        max_length: wordpieces kept per text.
    """

    def __init__(self, backbone: str | None = None, stop_words: Iterable[str] | None = None,
                 batch_size: int = 512, max_length: int = 256):
        self.backbone = backbone
        self.stop_words = stop_words
        self.batch_size = batch_size
        self.max_length = max_length
        self._vectors: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._tokenizer = None

    @property
    def fingerprint(self) -> str:
        from kgattn.backbone import backbone_fingerprint

        return f"{backbone_fingerprint(self.backbone)}-static{STATIC_FORMAT}"

    def _load(self) -> None:
        if self._vectors is not None:
            return
        from safetensors.numpy import load_file, save_file
        from transformers import AutoTokenizer

        from kgattn.backbone import resolve_backbone

        self._tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(self.backbone))
        key = hashlib.sha256(self.fingerprint.encode()).hexdigest()[:20]
        path = cache_dir("static_vectors", key) / "vectors.safetensors"
        if path.is_file():
            vectors = load_file(str(path))["vectors"]
        else:
            vectors = self._distill()
            tmp = path.with_suffix(".tmp")
            save_file({"vectors": vectors}, str(tmp))
            tmp.replace(path)  # atomic: a concurrent or torn write is never read
        self._vectors = vectors
        self._weight = self._content_mask()

    def _distill(self) -> np.ndarray:
        import torch

        from kgattn.backbone import load_backbone

        model, tok = load_backbone(self.backbone)
        model.eval()
        vocab = len(tok)
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        out = np.empty((vocab, model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for a in range(0, vocab, self.batch_size):
                ids = torch.arange(a, min(vocab, a + self.batch_size))
                batch = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)
                hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
                # The encoding of the one-token text "t", pooled as TextEncoder pools (mean).
                out[a:a + len(ids)] = hidden.mean(dim=1).float().numpy()
        return out

    def _content_mask(self) -> np.ndarray:
        if self.stop_words is None:
            from kgattn.linking.gazetteer import default_stop_words

            stop = default_stop_words()
        else:
            stop = frozenset(s.casefold() for s in self.stop_words)
        tok = self._tokenizer
        weight = np.zeros(len(tok), dtype=np.float32)
        special = set(tok.all_special_ids)
        for piece, i in tok.get_vocab().items():
            if i >= weight.size or i in special:
                continue
            word = piece[2:] if piece.startswith("##") else piece
            weight[i] = 0.0 if word.casefold() in stop or not any(c.isalnum() for c in word) else 1.0
        return weight

    @property
    def dim(self) -> int:
        self._load()
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 ``[len(texts), dim]``, rows of unit norm (zero for a text with no content word)."""
        self._load()
        out = np.zeros((len(texts), self._vectors.shape[1]), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(list(texts), add_special_tokens=False, truncation=True,
                              max_length=self.max_length)["input_ids"]
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        if lens.sum() == 0:
            return out
        flat = np.fromiter((i for row in ids for i in row), dtype=np.int64, count=int(lens.sum()))
        rows = np.repeat(np.arange(len(ids)), lens)
        w = self._weight[flat]
        keep = w > 0
        np.add.at(out, rows[keep], self._vectors[flat[keep]])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


class DescribedGraph:
    """A read-only view of a graph whose empty descriptions are written from the node's edges.

    ``description(i)`` is the graph's own when it has one, else up to ``max_edges`` out-edges
    (one per relation, in stored order), as ``"<relation name> <neighbour label>"`` joined by
    ``"; "``. Its ``fingerprint`` differs from the graph's, so caches keyed by it (node
    encodings) never mix the two. Everything else is the graph's.
    """

    def __init__(self, kg, max_edges: int = 6):
        self.kg = kg
        self.max_edges = max_edges
        raw = f"{kg.fingerprint}|edge-descriptions-v1|{max_edges}"
        self.fingerprint = hashlib.sha256(raw.encode()).hexdigest()

    def description(self, i: int) -> str:
        own = self.kg.description(i)
        if own:
            return own
        nbr, rel = self.kg.neighbors(i, "out")
        seen, parts = set(), []
        names = self.kg.relation_names
        for n, r in zip(nbr.tolist(), rel.tolist()):
            if r in seen:
                continue
            seen.add(r)
            parts.append(f"{names[r]} {self.kg.label(n)}")
            if len(parts) == self.max_edges:
                break
        return "; ".join(parts)

    def __getattr__(self, name):
        return getattr(self.kg, name)


class ContextModels:
    """The encoders of context disambiguation, each built on first use.

    ``encoder``: the backbone (:class:`kgattn.embeddings.TextEncoder`); ``context_encoder``:
    what encodes text windows, the backbone itself (``context="encoder"``) or its distilled
    static vectors (``context="static"``, :class:`StaticEncoder`); ``node_embeddings``: cached
    node encodings by the backbone (:class:`kgattn.embeddings.NodeEmbeddings`), over
    :class:`DescribedGraph` when ``describe_nodes``.
    """

    def __init__(self, kg, backbone: str | None = None, *, context: str = "static", describe_nodes: bool = True,
                 max_length: int = 64, precision: str = "bf16", batch_size: int = 128,
                 device: str | None = "auto", stop_words: Iterable[str] | None = None):
        self.kg, self.backbone, self.context = kg, backbone, context
        self.describe_nodes = describe_nodes
        self.max_length, self.precision, self.batch_size, self.device = max_length, precision, batch_size, device
        self.stop_words = stop_words
        self._encoder = self._context_encoder = self._node_emb = None

    @property
    def encoder(self):
        if self._encoder is None:
            from kgattn.embeddings import TextEncoder

            self._encoder = TextEncoder(self.backbone, max_length=self.max_length, batch_size=self.batch_size,
                                        device=self.device, precision=self.precision)
        return self._encoder

    @property
    def context_encoder(self):
        if self._context_encoder is None:
            self._context_encoder = (self.encoder if self.context == "encoder"
                                     else StaticEncoder(self.backbone, stop_words=self.stop_words))
        return self._context_encoder

    @property
    def node_embeddings(self):
        if self._node_emb is None:
            from kgattn.embeddings import NodeEmbeddings

            graph = DescribedGraph(self.kg) if self.describe_nodes else self.kg
            self._node_emb = NodeEmbeddings(graph, self.encoder)
        return self._node_emb
