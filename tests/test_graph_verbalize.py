"""Tests of kgattn.graph.verbalize: the knowledge-as-text baseline's input."""
from __future__ import annotations

import pytest

from kgattn.graph import KnowledgeGraph
from kgattn.graph.verbalize import SEPARATOR, knowledge_as_text, node_neighbourhood, verbalize
from kgattn.linking.types import Mention


@pytest.fixture(scope="module")
def kg():
    # dog -> canine -> carnivore; puppy -> dog (hyponym points in); cat -> feline
    ids = ["dog", "canine", "carnivore", "puppy", "cat", "feline"]
    src, dst = [0, 1, 3, 4], [1, 2, 0, 5]
    return KnowledgeGraph.from_arrays(ids, src, dst, [0, 0, 0, 0], ["hypernym"],
                                      labels=["dog", "canine", "carnivore", "puppy", "cat", "feline"])


def test_neighbourhood_is_one_hop_out_then_in_without_repeats(kg):
    dog = kg.node_index("dog")
    assert node_neighbourhood(kg, dog) == ["canine", "puppy"]   # not carnivore (2 hops)
    assert node_neighbourhood(kg, dog, max_neighbours=1) == ["canine"]
    assert node_neighbourhood(kg, kg.node_index("carnivore")) == ["canine"]


def test_more_hops_describe_the_neighbours_breadth_first_without_repeats(kg):
    # puppy -> dog -> canine -> carnivore: the facts two and three hops away are written out after
    # the nearer ones (a token limit cuts the farthest first), and no label is written twice.
    puppy, dog, cat = kg.node_index("puppy"), kg.node_index("dog"), kg.node_index("cat")
    linked = [Mention(0, 5, "puppy", node=puppy)]
    assert verbalize(kg, linked) == "puppy: dog"
    assert verbalize(kg, linked, hops=2) == "puppy: dog; dog: canine"
    assert verbalize(kg, linked, hops=3) == "puppy: dog; dog: canine; canine: carnivore"
    both = [Mention(0, 3, "dog", node=dog), Mention(8, 11, "cat", node=cat)]
    assert verbalize(kg, both, hops=2) == "dog: canine, puppy; cat: feline; canine: carnivore"
    assert verbalize(kg, both, max_neighbours=1, hops=2) == "dog: canine; cat: feline; canine: carnivore"
    out = knowledge_as_text(["a puppy"], [linked], kg, hops=2)
    assert out == [f"a puppy{SEPARATOR}puppy: dog; dog: canine"]
    for hops in (0, 4):
        with pytest.raises(ValueError, match="hops must be between 1 and 3"):
            verbalize(kg, linked, hops=hops)


def test_verbalize_skips_nil_and_repeated_nodes(kg):
    dog, cat = kg.node_index("dog"), kg.node_index("cat")
    mentions = [Mention(0, 3, "dog", node=dog), Mention(8, 11, "xyz", node=None),
                Mention(12, 15, "dog", node=dog), Mention(20, 23, "cat", node=cat)]
    assert verbalize(kg, mentions) == "dog: canine, puppy; cat: feline"
    assert verbalize(kg, mentions, max_neighbours=0) == "dog; cat"


def test_verbalize_with_glosses_writes_descriptions_where_there_are_some():
    kg = KnowledgeGraph.from_arrays(["dog", "canine", "cat"], [0], [1], [0], ["hypernym"],
                                    labels=["dog", "canine", "cat"],
                                    descriptions=["a domesticated carnivore", "", None])
    mentions = [Mention(0, 3, "dog", node=0), Mention(5, 8, "cat", node=2)]
    assert verbalize(kg, mentions, glosses=True) == "dog (a domesticated carnivore): canine; cat"
    assert verbalize(kg, mentions) == "dog: canine; cat"
    out = knowledge_as_text(["my dog"], [mentions[:1]], kg, glosses=True)
    assert out == [f"my dog{SEPARATOR}dog (a domesticated carnivore): canine"]


def test_knowledge_as_text_appends_and_keeps_unlinked_texts(kg):
    dog = kg.node_index("dog")
    texts = ["my dog barks", "nothing here"]
    out = knowledge_as_text(texts, [[Mention(3, 6, "dog", node=dog)], []], kg)
    assert out == [f"my dog barks{SEPARATOR}dog: canine, puppy", "nothing here"]
    assert out[0].startswith(texts[0])  # mention offsets into the original text stay valid
    with pytest.raises(ValueError, match="2 texts but 1 mention"):
        knowledge_as_text(texts, [[]], kg)


def test_knowledge_as_text_variant_tells_of_the_marked_entity_only_when_the_graph_is_focused(kg):
    # With features.focus_marks the fused model's subgraph holds the [marked] mention's node alone;
    # the knowledge-as-text baseline it is compared with must be told of the same entities.
    from kgattn.evaluation.variants import KnowledgeAsText

    dog, cat = kg.node_index("dog"), kg.node_index("cat")
    text = "a [dog] and a cat"
    mentions = [[Mention(3, 6, "dog", node=dog), Mention(14, 17, "cat", node=cat)]]
    options = {"text_neighbours": 8, "text_glosses": False, "text_hops": 1}
    augment = KnowledgeAsText()
    assert augment([text], mentions, kg, options) == [f"{text}{SEPARATOR}dog: canine, puppy; cat: feline"]
    focused = augment([text], mentions, kg, {**options, "focus_marks": ("[", "]")})
    assert focused == [f"{text}{SEPARATOR}dog: canine, puppy"]
    cat_only = [[Mention(14, 17, "cat", node=cat)]]
    unlinked_mark = augment(["a [fox] and a cat"], cat_only, kg, {**options, "focus_marks": ("[", "]")})
    assert unlinked_mark == ["a [fox] and a cat"]   # the marked span links nothing: nothing appended
