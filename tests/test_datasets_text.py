"""TREC and CoNLL-2003 readers: encodings, BIO/IOB1 decoding, character offsets, bad rows."""
from __future__ import annotations

import pytest

from kgattn.datasets.conll import ConllSentence, conll_mentions, read_conll, sentence_spans
from kgattn.datasets.trec import TrecQuestion, read_trec
from kgattn.errors import CorpusError
from kgattn.paths import data_dir


def test_trec_latin1_and_utf8(tmp_path):
    latin = tmp_path / "latin.label"
    latin.write_bytes("LOC:city Which city is a sister\xa0city of Malmö ?\nHUM:ind Who wrote it ?\n".encode("latin-1"))
    qs = read_trec(latin)
    assert qs[0] == TrecQuestion("LOC", "city", "Which city is a sister\xa0city of Malmö ?")
    assert qs[1].label == "HUM:ind"
    utf8 = tmp_path / "utf8.label"
    utf8.write_text("ENTY:animal What is a Kölsch ?\n\n", encoding="utf-8")
    assert read_trec(utf8) == [TrecQuestion("ENTY", "animal", "What is a Kölsch ?")]


def test_trec_bad_rows_name_file_and_row(tmp_path):
    bad = tmp_path / "bad.label"
    bad.write_text("LOC:city Where ?\nno label here\n")
    with pytest.raises(CorpusError, match=r"bad.label row 2"):
        read_trec(bad)
    bad.write_text("LOC:city Where ?\n\nFOO:bar What ?\n")
    with pytest.raises(CorpusError, match=r"row 3.*unknown coarse label 'FOO'"):
        read_trec(bad)
    with pytest.raises(CorpusError, match="cannot read"):
        read_trec(tmp_path / "missing.label")


def test_conll_bio_iob1_and_offsets(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("-DOCSTART- -X- O O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\n"
                 "call NN I-NP O\n\nNadim B-PER 0\nLadki I-PER 0\nin O 0\nSão B-LOC 0\nPaulo I-LOC 0\n"
                 "Paris B-LOC 0\nLondon B-LOC 0\n")
    sents = read_conll(f)
    assert [s.tokens for s in sents] == [("EU", "rejects", "German", "call"),
                                         ("Nadim", "Ladki", "in", "São", "Paulo", "Paris", "London")]
    assert sents[0].tags == ("I-ORG", "O", "I-MISC", "O")  # IOB1 (4 columns): I- opens a mention
    gold = conll_mentions(sents)
    assert [(g.text, g.type) for g in gold] == [("EU", "ORG"), ("German", "MISC"), ("Nadim Ladki", "PER"),
                                                ("São Paulo", "LOC"), ("Paris", "LOC"), ("London", "LOC")]
    for g in gold:
        assert g.sentence_text[g.start:g.end] == g.text
    # A type change without B- closes the previous mention.
    assert sentence_spans(ConllSentence(("a", "b"), ("I-PER", "I-LOC"))) == [(0, 1, "PER"), (1, 2, "LOC")]


def test_conll_bad_tag(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("EU B-ORG 0\n\nx B-FOO 0\n")
    with pytest.raises(CorpusError, match=r"c.txt row 3.*'B-FOO'"):
        read_conll(f)


@pytest.mark.data
def test_real_files():
    root = data_dir()
    if not (root / "trec").is_dir() or not (root / "conll2003").is_dir():
        pytest.skip(f"TREC/CoNLL not under {root}")
    train, test = read_trec(root / "trec/train_5500.label"), read_trec(root / "trec/TREC_10.label")
    assert (len(train), len(test)) == (5452, 500)
    assert {q.coarse for q in train} == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    assert "sister\xf0city" in train[65].text  # the raw Latin-1 byte 0xF0 decodes as such
    sents = read_conll(root / "conll2003/test.txt")
    gold = conll_mentions(sents)
    assert (len(sents), len(gold)) == (3453, 5648)  # counts stated by the data set's README
    assert all(g.sentence_text[g.start:g.end].strip() == g.text for g in gold[:500])
