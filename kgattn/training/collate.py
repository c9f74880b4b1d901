"""From texts to model batches, in one direction: texts -> :class:`Example` -> :class:`ModelBatch`.

Everything that is the same in every epoch (linking, tokenization, subgraph cutting) happens
once per corpus in :class:`Featurizer`; the per-step :class:`Collator` only pads, looks up the
(disk-cached) node features and offsets edge indices.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from kgattn.errors import ConfigError, InputTextError
from kgattn.graph.subgraph import Subgraph
from kgattn.linking.types import Mention, focus_mentions
from kgattn.models.inputs import GraphBatch


def check_texts(texts) -> list[str]:
    """``texts`` as a list of non-empty strings.

    Empty or whitespace-only texts are refused (InputTextError naming the index) rather than
    classified from ``[CLS] [SEP]`` alone: in a corpus they are almost always a reading error.
    """
    if isinstance(texts, (str, bytes)):
        raise InputTextError("texts must be a list of strings, not a single string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputTextError(f"index {i}: text must be a str, not {type(t).__name__}")
        if not t.strip():
            raise InputTextError(f"index {i}: text is empty")
    return texts


@dataclass(frozen=True)
class Example:
    """One tokenized text with its subgraph (T tokens, n nodes).

    Attributes:
        input_ids:      int64 [T]
        token_type_ids: int64 [T] or None (backbones without segment ids).
        mention_nodes:  int64 [T]  local node position (into ``subgraph.nodes``) of the linked
                        mention each token belongs to; -1 for tokens outside linked mentions.
        subgraph:       the example's :class:`Subgraph` (empty without a graph or a linked entity).
        mentions:       the linked mentions (character offsets into the original text).
        truncated:      True when the text was cut to the backbone's length limit.
    """

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor | None
    mention_nodes: torch.Tensor
    subgraph: Subgraph
    mentions: tuple[Mention, ...] = ()
    truncated: bool = False


@dataclass(frozen=True)
class ModelBatch:
    """A padded batch of B examples of at most T tokens.

    Attributes:
        index:          int64 [B]  positions of the examples in their corpus (to undo sampling,
                        e.g. DDP sharding, and to deduplicate).
        input_ids:      int64 [B, T]
        attention_mask: int64 [B, T]
        token_type_ids: int64 [B, T] or None
        graph:          :class:`GraphBatch` or None (no-graph model or graph removed).
        labels:         ``{task: int64 [B]}`` or None (prediction).
    """

    index: torch.Tensor
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor | None
    graph: GraphBatch | None
    labels: dict[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        return int(self.index.numel())

    def to(self, device) -> "ModelBatch":
        moved = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (torch.Tensor, GraphBatch)):
                v = v.to(device)
            elif isinstance(v, dict):
                v = {k: t.to(device) for k, t in v.items()}
            moved[f.name] = v
        return ModelBatch(**moved)

    def without_graph(self) -> "ModelBatch":
        return replace(self, graph=None)


def _mention_token_nodes(offsets: np.ndarray, mentions: Sequence[Mention], position: dict[int, int]) -> torch.Tensor:
    """For each token, the local node position of the linked mention covering it (-1 if none)."""
    out = np.full(len(offsets), -1, dtype=np.int64)
    real = offsets[:, 1] > offsets[:, 0]  # special tokens have empty (0, 0) spans
    for m in mentions:
        if m.node is None or m.node not in position:
            continue
        covered = real & (offsets[:, 0] < m.end) & (offsets[:, 1] > m.start)
        out[covered] = position[m.node]
    return torch.from_numpy(out)


#: Characters read per kept token before tokenizing a long text (see ``Featurizer._tokenize``).
CHARS_PER_TOKEN = 32


def _clip(text: str, budget: int) -> str:
    """``text`` cut at the last whitespace before ``budget`` characters (unchanged if shorter)."""
    if len(text) <= budget:
        return text
    cut = max(text.rfind(ws, 0, budget) for ws in (" ", "\n", "\t"))
    return text[:cut] if cut > 0 else text


def linked_window(text: str, covered_end: int) -> int:
    """Characters of ``text`` the linker reads when the kept tokens end at ``covered_end``.

    The whole text when nothing but whitespace follows the kept tokens; otherwise up to the end of
    the word the last kept token is in (a mention cut mid-word would link to the wrong node).
    """
    if not text[covered_end:].strip():
        return len(text)
    end = covered_end
    while end < len(text) and not text[end].isspace():
        end += 1
    return end


def seeds_of(mentions: Sequence[Mention]) -> list[int]:
    """Linked nodes of the mentions, in text order, each once."""
    return list(dict.fromkeys(m.node for m in mentions if m.node is not None))


class Featurizer:
    """Links, tokenizes and cuts subgraphs for a whole corpus, once.

    Args:
        tokenizer: a Hugging Face *fast* tokenizer (character offsets are needed to map
            mentions to tokens).
        kg: the :class:`KnowledgeGraph`; None for a no-graph model.
        linker: the :class:`EntityLinker` used when mentions are not given.
        hops, max_nodes: passed to ``kg.subgraphs``.
        max_length: tokens kept per text; longer texts are truncated, with a warning the first
            time (``num_truncated`` counts them all).
        scorers: optional ``texts -> [scorer]``: one subgraph scorer per text (see
            :meth:`KnowledgeGraph.subgraph`) that decides which nodes fill ``max_nodes``.
        focus_marks: ``(open, close)``: only the mentions inside the marked span seed the
            subgraph (:func:`focus_mentions`; ``FeatureConfig.focus_marks``).
    """

    def __init__(self, tokenizer, kg=None, linker=None, hops: int = 2, max_nodes: int = 32,
                 max_length: int = 128, scorers: Callable | None = None,
                 focus_marks: tuple[str, str] | None = None):
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError("the backbone's tokenizer must be a fast tokenizer (offsets are needed "
                              "to map linked mentions to tokens)")
        self.tokenizer = tokenizer
        self.kg = kg
        self.linker = linker
        self.hops = hops
        self.max_nodes = max_nodes
        self.max_length = max_length
        self.scorers = scorers
        self.focus_marks = focus_marks
        self.num_truncated = 0
        self._warned = False

    @property
    def uses_graph(self) -> bool:
        return self.kg is not None

    def _tokenize(self, texts: list[str]):
        """Tokenize with truncation, reading a long text only as far as the kept tokens can reach.

        A text longer than ``CHARS_PER_TOKEN * max_length`` characters is cut at the last
        whitespace before that budget (so no word is split) before tokenizing; if the cut text
        still fills ``max_length`` tokens, those are exactly the tokens of the whole text. The rare
        text whose cut falls short (very long words) is tokenized whole.
        """
        def tokenize(batch):
            return self.tokenizer(batch, truncation=True, max_length=self.max_length,
                                  return_offsets_mapping=True, return_attention_mask=False)

        budget = CHARS_PER_TOKEN * self.max_length
        clipped = [_clip(t, budget) for t in texts]
        enc = tokenize(clipped)
        short = [i for i, (t, c) in enumerate(zip(texts, clipped))
                 if len(c) < len(t) and len(enc["input_ids"][i]) < self.max_length]
        if short:
            again = tokenize([texts[i] for i in short])
            for key in enc.keys():
                for j, i in enumerate(short):
                    enc[key][i] = again[key][j]
        return enc

    def link(self, texts: Sequence[str]) -> list[list[Mention]]:
        if self.linker is None:
            raise ConfigError("no linker to link texts with; pass mentions= or a linker")
        return [list(ms) for ms in self.linker.link_batch(list(texts))]

    def prepare(self, texts: Sequence[str], mentions: Sequence[Sequence[Mention]] | None = None) -> list[Example]:
        """One :class:`Example` per text. ``mentions`` (one list per text) skips linking."""
        texts = check_texts(texts)
        if not texts:
            return []
        # Tokenize first: the linker then reads only the characters the kept tokens cover.
        enc = self._tokenize(texts)
        offsets = [np.asarray(o, dtype=np.int64).reshape(-1, 2) for o in enc["offset_mapping"]]
        covered = [int(o[:, 1].max()) for o in offsets]  # end of the last kept token's span
        kept = [linked_window(text, end) for text, end in zip(texts, covered)]
        if self.uses_graph:
            if mentions is None:
                mentions = self.link([text[:end] for text, end in zip(texts, kept)])
            elif len(mentions) != len(texts):
                raise ConfigError(f"{len(mentions)} mention lists for {len(texts)} texts")
            mentions = [tuple(ms) for ms in mentions]
            seeds = [seeds_of(focus_mentions(text, ms, self.focus_marks)) for text, ms in zip(texts, mentions)]
            if self.scorers is None:
                subgraphs = self.kg.subgraphs(seeds, hops=self.hops, max_nodes=self.max_nodes)
            else:
                scorers = self.scorers([text[:end] for text, end in zip(texts, kept)])
                subgraphs = [self.kg.subgraph(s, hops=self.hops, max_nodes=self.max_nodes, scorer=sc)
                             for s, sc in zip(seeds, scorers)]
        else:
            # A no-graph model ignores any mentions given: it never sees nodes.
            mentions = [()] * len(texts)
            subgraphs = [Subgraph.empty()] * len(texts)
        types = enc.get("token_type_ids")
        examples, n_truncated = [], 0
        for i, text in enumerate(texts):
            truncated = bool(text[covered[i]:].strip())
            n_truncated += truncated
            sub = subgraphs[i]
            position = {int(n): p for p, n in enumerate(sub.nodes.tolist())}
            examples.append(Example(
                input_ids=torch.tensor(enc["input_ids"][i], dtype=torch.long),
                token_type_ids=None if types is None else torch.tensor(types[i], dtype=torch.long),
                mention_nodes=_mention_token_nodes(offsets[i], mentions[i], position),
                subgraph=sub, mentions=mentions[i], truncated=truncated))
        self.num_truncated += n_truncated
        if n_truncated and not self._warned:
            self._warned = True
            warnings.warn(f"{n_truncated} of {len(texts)} texts are longer than {self.max_length} tokens and were "
                          "truncated (said once; Featurizer.num_truncated counts them all)", stacklevel=2)
        return examples


def shuffle_graphs(examples: Sequence[Example], seed: int = 0) -> list[Example]:
    """The shuffled-graph control: each example gets another example's subgraph.

    A fixed-seed random cycle (example ``p[k]`` takes the subgraph of ``p[k+1]``) so no example
    keeps its own subgraph when there are two or more. Mention-node alignment targets are
    cleared, since the mentions no longer point into the subgraph.
    """
    n = len(examples)
    if n < 2:
        return list(examples)
    order = np.random.default_rng(seed).permutation(n)
    donor = np.empty(n, dtype=np.int64)
    donor[order] = np.roll(order, -1)
    return [replace(ex, subgraph=examples[int(donor[i])].subgraph,
                    mention_nodes=torch.full_like(ex.mention_nodes, -1))
            for i, ex in enumerate(examples)]


class Collator:
    """Pads examples into a :class:`ModelBatch`; callable as a DataLoader ``collate_fn``.

    Items are ``(index, example, labels)`` with ``labels`` a ``{task: int}`` dict or None.

    Args:
        pad_token_id: the tokenizer's padding id.
        node_features: callable ``nodes -> float [n, F]`` (a :class:`NodeEmbeddings`); None
            gives batches without a graph.
        feature_dim: F, needed to build the features of a batch with no node at all.
    """

    def __init__(self, pad_token_id: int, node_features=None, feature_dim: int | None = None):
        self.pad_token_id = pad_token_id
        self.node_features = node_features
        self.feature_dim = feature_dim

    def __call__(self, items: Sequence[tuple[int, Example, dict[str, int] | None]]) -> ModelBatch:
        index = torch.tensor([i for i, _, _ in items], dtype=torch.long)
        examples = [ex for _, ex, _ in items]
        b, t = len(examples), max(int(ex.input_ids.numel()) for ex in examples)
        input_ids = torch.full((b, t), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros(b, t, dtype=torch.long)
        has_types = examples[0].token_type_ids is not None
        token_type_ids = torch.zeros(b, t, dtype=torch.long) if has_types else None
        for r, ex in enumerate(examples):
            n = ex.input_ids.numel()
            input_ids[r, :n] = ex.input_ids
            attention_mask[r, :n] = 1
            if has_types:
                token_type_ids[r, :n] = ex.token_type_ids
        labels = None
        if items[0][2] is not None:
            labels = {task: torch.tensor([lab[task] for _, _, lab in items], dtype=torch.long)
                      for task in items[0][2]}
        graph = self._graph(examples, t) if self.node_features is not None else None
        return ModelBatch(index, input_ids, attention_mask, token_type_ids, graph, labels)

    def _graph(self, examples: Sequence[Example], t: int) -> GraphBatch:
        b = len(examples)
        # At least one (masked) slot, so shapes stay valid when no example has a node.
        n = max(1, max(ex.subgraph.num_nodes for ex in examples))
        node_ids = torch.full((b, n), -1, dtype=torch.long)
        node_mask = torch.zeros(b, n, dtype=torch.bool)
        hop = torch.zeros(b, n, dtype=torch.long)
        seed_mask = torch.zeros(b, n, dtype=torch.bool)
        mention_nodes = torch.full((b, t), -1, dtype=torch.long)
        edge_index, edge_type = [], []
        for r, ex in enumerate(examples):
            sub, k = ex.subgraph, ex.subgraph.num_nodes
            node_ids[r, :k] = sub.nodes
            node_mask[r, :k] = True
            hop[r, :k] = sub.hop
            seed_mask[r, :k] = sub.seed_mask
            mention_nodes[r, :ex.mention_nodes.numel()] = ex.mention_nodes
            edge_index.append(sub.edge_index + r * n)
            edge_type.append(sub.edge_type)
        unique, inverse = torch.unique(node_ids[node_mask], return_inverse=True)
        feats = self.node_features(unique) if unique.numel() else None
        dim = feats.shape[1] if feats is not None else self.feature_dim
        if dim is None:
            raise ConfigError("feature_dim is needed to collate a batch without nodes")
        node_features = torch.zeros(b, n, dim, dtype=torch.float32)
        if feats is not None:
            node_features[node_mask] = feats[inverse].float()
        return GraphBatch(node_features=node_features, node_mask=node_mask, hop=hop, seed_mask=seed_mask,
                          edge_index=torch.cat(edge_index, dim=1), edge_type=torch.cat(edge_type),
                          node_ids=node_ids, mention_nodes=mention_nodes)
