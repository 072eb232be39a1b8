"""Tiny evaluation data for the tests: JSON Lines files and a miniature copy of the shared benchmarks' layout."""

import json


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def fake_datasets(root):
    xq = root / "xquad_es_en"
    (xq / "abstention_holdout").mkdir(parents=True)
    paragraphs = [{"doc_id": "xquad-p000", "parent_doc_id": "xquad-a00", "title": "T", "text": "Alpha.", "lang": "en"},
                  {"doc_id": "xquad-p001", "parent_doc_id": "xquad-a01", "title": "U", "text": "Beta.", "lang": "en"}]
    write_jsonl(xq / "corpus_paragraphs.en.jsonl", paragraphs)
    write_jsonl(xq / "corpus_sentences.en.jsonl", [{**p, "doc_id": p["doc_id"] + "-s00"} for p in paragraphs])
    q = {"qid": "q1", "question": "¿Alfa?", "lang": "es", "gold_doc_ids": ["xquad-p000"],
         "gold_sentence_ids": ["xquad-p000-s03"], "answers": [{"text": "Alpha", "answer_start": 0}],
         "answerable": True}
    write_jsonl(xq / "questions.es.jsonl", [q])
    write_jsonl(xq / "questions.en.jsonl", [{**q, "lang": "en", "gold_sentence_ids": ["xquad-p000-s00"]}])
    write_jsonl(xq / "abstention_holdout" / "corpus_paragraphs.en.jsonl", paragraphs[1:])
    write_jsonl(xq / "abstention_holdout" / "questions.es.jsonl", [
        {**q, "gold_doc_ids": [], "answerable": False, "expected_behavior": "abstain_or_escalate"}])
    fq = root / "faquad_pt"
    fq.mkdir()
    write_jsonl(fq / "corpus_paragraphs.jsonl", [{**paragraphs[0], "doc_id": "faquad-d00-p00", "lang": "pt"}])
    write_jsonl(fq / "questions.jsonl", [{**q, "lang": "pt", "gold_doc_ids": ["faquad-d00-p00"],
                                           "equivalent_gold_doc_ids": ["faquad-d07-p01"]}])
    return root
