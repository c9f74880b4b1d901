"""Test doubles for the graph, linker, classifier and their factory (tests only, not shipped).

They are written against the protocols of :mod:`kgattn.pipeline.protocols` (``GraphLike``,
``LinkerLike``, ``ClassifierLike``, ``ComponentsLike``; ``tests/test_doubles.py`` checks the real
classes and these doubles against them) but need no model and run in milliseconds, so resume
and interruption tests can start many subprocesses. The fake classifier is a real (if trivial)
learner: with the graph it predicts the label most often seen with the linked nodes in training;
without it, the label most often seen with the words.

:class:`FakeClassifier` accepts exactly the parameters of the real ``KGClassifier.__init__``
(read from its signature, so it follows changes to the real class): a spec key that the real
classifier would refuse fails here too. :class:`FakeComponents` builds it through the real
:meth:`kgattn.pipeline.stages.Components.make_classifier`, so the spec-to-classifier plumbing
under test is the product's own.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from unittest import mock

import numpy as np

from kgattn.errors import ConfigError
from kgattn.explain import AttendedNode, Explanation, LayerAttention, LinkedMention, PredictionBatch
from kgattn.linking.types import Candidate, Mention
from kgattn.pipeline.stages import Components


class FakeGraph:
    """Nodes and edges from a ``head<TAB>relation<TAB>tail`` file; labels are the ids."""

    def __init__(self, triples: list[tuple[str, str, str]]):
        self.triples = triples
        names = sorted({h for h, _, _ in triples} | {t for _, _, t in triples})
        self._ids = names
        self._index = {n: i for i, n in enumerate(names)}
        self.relation_names = sorted({r for _, r, _ in triples})
        self._fingerprint = hashlib.sha256(json.dumps(triples).encode()).hexdigest()

    @classmethod
    def from_tsv(cls, path) -> "FakeGraph":
        lines = Path(path).read_text().splitlines()
        return cls([tuple(line.split("\t")) for line in lines if line.strip()])

    num_nodes = property(lambda self: len(self._ids))
    num_edges = property(lambda self: len(self.triples))
    num_relations = property(lambda self: len(self.relation_names))
    fingerprint = property(lambda self: self._fingerprint)

    def label(self, i: int) -> str:
        return self._ids[i]

    def description(self, i: int) -> str:
        return f"a place called {self.label(i)}"

    def node_id(self, i: int) -> str:
        return self._ids[i]

    def node_index(self, node_id: str) -> int:
        return self._index[node_id]

    def neighbors(self, i: int, direction: str = "both"):
        """(neighbour indices, relation ids) like :meth:`KnowledgeGraph.neighbors`."""
        import torch

        name, rels = self._ids[i], {r: k for k, r in enumerate(self.relation_names)}
        out = [(self._index[t], rels[r]) for h, r, t in self.triples if h == name and direction != "in"]
        out += [(self._index[h], rels[r]) for h, r, t in self.triples if t == name and direction != "out"]
        return (torch.tensor([j for j, _ in out], dtype=torch.long),
                torch.tensor([r for _, r in out], dtype=torch.long))

    def save(self, directory) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "triples.json").write_text(json.dumps(self.triples))
        return d

    @classmethod
    def load(cls, directory) -> "FakeGraph":
        return cls([tuple(t) for t in json.loads((Path(directory) / "triples.json").read_text())])


class FakeLinker:
    """Links every whole-word occurrence of a node label (case-insensitive)."""

    def __init__(self, kg: FakeGraph):
        self.kg = kg
        labels = sorted((kg.label(i) for i in range(kg.num_nodes)), key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(x) for x in labels) + r")\b", re.I)
        self._nodes = {kg.label(i).lower(): i for i in range(kg.num_nodes)}

    def link(self, text: str) -> list[Mention]:
        out = []
        for m in self._pattern.finditer(text):
            node = self._nodes[m.group(0).lower()]
            out.append(Mention(m.start(), m.end(), m.group(0), (Candidate(node, 1.0),), node))
        return out

    def link_batch(self, texts, batch_size: int = 256, n_process: int = 1):
        """One list of mentions per text, in order (as EntityLinker.link_batch)."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        for text in texts:
            yield self.link(text)


@functools.cache
def classifier_parameters() -> tuple[dict, bool]:
    """``({name: default}, accepts_more)`` of the real ``KGClassifier.__init__``."""
    from kgattn.api import KGClassifier

    if KGClassifier is FakeClassifier:
        raise RuntimeError("classifier_parameters() must read the real class, not the double patched in")
    named, more = {}, False
    for name, p in inspect.signature(KGClassifier.__init__).parameters.items():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            more = True
        elif name != "self" and p.kind is not inspect.Parameter.VAR_POSITIONAL:
            named[name] = p.default
    return named, more


def check_classifier_parameters(params: dict) -> None:
    """Refuse what the real classifier refuses: an unknown name is a TypeError, as Python raises
    it for the real ``__init__``; where the real one takes ``**model_options`` (forwarded to
    :class:`kgattn.models.KGAugmentedConfig`), a name that config does not know is its ConfigError."""
    named, more = classifier_parameters()
    unknown = [k for k in params if k not in named]
    if not unknown:
        return
    if not more:
        raise TypeError(f"KGClassifier.__init__() got an unexpected keyword argument {unknown[0]!r}")
    import dataclasses

    from kgattn.models.config import KGAugmentedConfig

    known = {f.name for f in dataclasses.fields(KGAugmentedConfig)}
    bad = [k for k in unknown if k not in known]
    if bad:
        raise ConfigError(f"unknown model config key {bad[0]!r}; known keys: {sorted(known)}")


class FakeClassifier:
    """A counting classifier with KGClassifier's parameters and interface (module docstring).

    ``delay`` (an attribute, not a parameter: the real class has none): seconds slept per
    predicted batch, to give interruption tests time to kill it.
    """

    delay = 0.0

    def __init__(self, **params):
        check_classifier_parameters(params)
        self.given = {k: v for k, v in params.items() if k not in ("kg", "linker")}
        self._setup({**classifier_parameters()[0], **params})

    def _setup(self, params: dict) -> None:
        self.params = {k: v for k, v in params.items() if k not in ("kg", "linker")}
        self.kg, self.linker = params.get("kg"), params.get("linker")
        self.use_graph, self.shuffle_graph = params["use_graph"], params["shuffle_graph"]
        self.seed, self.batch_size = params["seed"], params["batch_size"]
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    def _mentions(self, texts, mentions):
        if mentions is None:
            mentions = [self.linker.link(t) for t in texts]
        mentions = [list(m) for m in mentions]
        if self.shuffle_graph and len(mentions) > 1:
            shift = 1 + self.seed % (len(mentions) - 1)
            mentions = mentions[shift:] + mentions[:shift]
        return mentions

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"[a-z]+", text.lower())

    def fit(self, texts, labels, val=None, mentions=None) -> "FakeClassifier":
        mentions = self._mentions(texts, mentions)
        self._classes = {t: sorted(set(map(str, v))) for t, v in labels.items()}
        self._by_node = {t: defaultdict(Counter) for t in labels}
        self._by_word = {t: defaultdict(Counter) for t in labels}
        self._prior = {t: Counter(map(str, v)) for t, v in labels.items()}
        for i, text in enumerate(texts):
            for task, values in labels.items():
                y = str(values[i])
                for m in mentions[i]:
                    if m.node is not None:
                        self._by_node[task][m.node][y] += 1
                for w in self._words(text):
                    self._by_word[task][w][y] += 1
        return self

    @property
    def classes_(self) -> dict[str, list]:
        return {t: list(c) for t, c in self._classes.items()}

    def _scores(self, task: str, text: str, mentions, use_graph: bool) -> np.ndarray:
        classes = self._classes[task]
        counts = Counter({c: 0.1 * self._prior[task][c] / max(sum(self._prior[task].values()), 1)
                          for c in classes})
        if use_graph:
            for m in mentions:
                counts.update({k: 10 * v for k, v in self._by_node[task].get(m.node, {}).items()})
        for w in self._words(text):
            counts.update({k: 0.01 * v for k, v in self._by_word[task].get(w, {}).items()})
        scores = np.array([counts[c] for c in classes], dtype=np.float64) + 1e-3
        return (scores / scores.sum()).astype(np.float32)

    def predict_batches(self, texts, mentions=None, *, use_graph=None, top_k: int = 5, chunk_size=None):
        use_graph = self.use_graph if use_graph is None else use_graph
        texts = list(texts)
        mentions = self._mentions(texts, None if mentions is None else list(mentions))
        for start in range(0, len(texts), self.batch_size):
            if self.delay:
                time.sleep(self.delay)
            idx = np.arange(start, min(start + self.batch_size, len(texts)))
            probs = {t: np.stack([self._scores(t, texts[i], mentions[i], use_graph) for i in idx])
                     for t in self._classes}
            labels = {t: [self._classes[t][int(j)] for j in p.argmax(1)] for t, p in probs.items()}
            top = [tuple(AttendedNode(m.node, self.kg.label(m.node), 1.0 / len(mentions[i]))
                         for m in mentions[i][:top_k] if m.node is not None) if use_graph else ()
                   for i in idx]
            yield PredictionBatch(index=idx, probabilities=probs, labels=labels, top_nodes=top,
                                  mentions=[tuple(mentions[i]) if use_graph else () for i in idx])

    def predict(self, texts, mentions=None, use_graph=None) -> dict[str, list]:
        out: dict[str, list] = {t: [] for t in self._classes}
        for batch in self.predict_batches(texts, mentions, use_graph=use_graph):
            for t in out:
                out[t].extend(batch.labels[t])
        return out

    def explain(self, text: str, mentions=None, top_k: int = 5) -> Explanation:
        mentions = list(mentions) if mentions is not None else self.linker.link(text)
        probs = {t: self._scores(t, text, mentions, self.use_graph) for t in self._classes}
        nodes = tuple(AttendedNode(m.node, self.kg.label(m.node), 1.0 / len(mentions))
                      for m in mentions[:top_k] if m.node is not None)
        return Explanation(
            text=text, prediction={t: self._classes[t][int(p.argmax())] for t, p in probs.items()},
            probabilities={t: dict(zip(self._classes[t], map(float, p))) for t, p in probs.items()},
            mentions=tuple(LinkedMention(m.start, m.end, m.text, m.node, self.kg.label(m.node))
                           for m in mentions),
            layers=(LayerAttention(layer=0, gate=0.5, null_weight=0.1, top_nodes=nodes),))

    def save(self, directory) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {"params": {"use_graph": self.use_graph, "shuffle_graph": self.shuffle_graph,
                            "seed": self.seed, "batch_size": self.batch_size},
                 "classes": self._classes, "prior": self._prior,
                 "by_node": {t: {str(k): v for k, v in d_.items()} for t, d_ in self._by_node.items()},
                 "by_word": self._by_word}
        (d / "classifier.json").write_text(json.dumps(state))
        return d

    @classmethod
    def load(cls, directory, kg=None, linker=None) -> "FakeClassifier":
        state = json.loads((Path(directory) / "classifier.json").read_text())
        clf = cls.__new__(cls)     # checked when it was made; no need to import the real class again
        clf._setup({**state["params"], "kg": kg, "linker": linker})
        clf._classes = state["classes"]
        clf._prior = {t: Counter(v) for t, v in state["prior"].items()}
        clf._by_node = {t: {int(k): Counter(v) for k, v in d.items()} for t, d in state["by_node"].items()}
        clf._by_word = {t: {k: Counter(v) for k, v in d.items()} for t, d in state["by_word"].items()}
        return clf


class FakeComponents(Components):
    """The pipeline's components built from the doubles above.

    ``kg.path`` must be a TSV of triples. Classifiers are made by the real
    :meth:`Components.make_classifier` with :class:`FakeClassifier` in place of ``KGClassifier``;
    ``trained`` records the arguments of every classifier made (``kg``/``linker`` left out).
    ``delay``: seconds every classifier sleeps per predicted batch.
    """

    def __init__(self, delay: float = 0.0):
        self.trained: list[dict] = []
        self.delay = delay

    def import_kg(self, spec):
        return FakeGraph.from_tsv(spec.path)

    def load_kg(self, directory):
        return FakeGraph.load(directory)

    def make_linker(self, kg, spec):
        return FakeLinker(kg)

    def make_classifier(self, kg, linker, spec, **overrides):
        import kgattn.api

        classifier_parameters()    # read the real signature before the double takes its place
        with mock.patch.object(kgattn.api, "KGClassifier", FakeClassifier):
            clf = super().make_classifier(kg, linker, spec, **overrides)
        self.trained.append(dict(clf.given))
        clf.delay = self.delay
        return clf

    def load_classifier(self, directory, kg, linker):
        clf = FakeClassifier.load(directory, kg=kg, linker=linker)
        clf.delay = self.delay
        return clf


#: City -> country of the toy world: the label of a text is its city's country, which only the
#: graph knows (texts never name the country).
TOY_CITIES = {"paris": "france", "lyon": "france", "nice": "france", "berlin": "germany",
              "munich": "germany", "hamburg": "germany", "rome": "italy", "milan": "italy",
              "turin": "italy"}


def write_toy_world(directory, rows: int = 120, shard_rows: int = 16, predict_shard_rows: int = 8,
                    extra_spec: str = "") -> Path:
    """Write ``kg.tsv``, ``corpus.csv`` and ``spec.yaml`` for the fakes; returns the spec path.

    Deterministic: row ``i`` mentions city ``i % 9`` and is train/val/test by ``i % 5``
    (3/1/1). ``extra_spec`` is appended to the YAML (e.g. ``evaluate:`` overrides).
    """
    import csv

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "kg.tsv", "w") as fh:
        for city, country in TOY_CITIES.items():
            fh.write(f"{city}\tlocated_in\t{country}\n")
    cities = list(TOY_CITIES)
    with open(d / "corpus.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label", "split"])
        for i in range(rows):
            city = cities[i % len(cities)]
            split = ("train", "train", "train", "val", "test")[i % 5]
            writer.writerow([f"doc{i:04d}", f"Report {i} from {city}, filed on day {i % 7}.",
                             TOY_CITIES[city], split])
    spec = d / "spec.yaml"
    spec.write_text(
        "name: toy\n"
        f"run_root: {d / 'runs'}\n"
        "kg: {path: kg.tsv, format: tsv}\n"
        f"corpus: {{paths: [corpus.csv], shard_rows: {shard_rows}}}\n"
        f"predict: {{shard_rows: {predict_shard_rows}, batch_size: 4}}\n" + extra_spec)
    return spec
