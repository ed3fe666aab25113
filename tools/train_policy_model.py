"""Train the shipped privacy-policy CR classifier and write it to model_data/.

    .venv/bin/python tools/train_policy_model.py [--data viodroid_dev.jsonl] [--c 10] [--chapter-weight 3]

1. grouped 5-fold CV (groups never split, thresholds nested) measures the
   configuration and gives out-of-fold probabilities, with and without the
   sentence's chapter; the shipped per-label thresholds are tuned on them;
2. the final model is fitted on all development sentences;
3. weights (float16), vocabulary, idf and thresholds go to
   src/appwarden/evidence/policy/model_data/policy_cr_model.npz, and the CV
   scores to model_data/metrics.json (quoted by DATA_CARD.md).

Needs scikit-learn (test extra); the product only needs numpy to use the model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from appwarden.evidence.policy.classify import MODEL_FILE, save_model
from appwarden.evidence.policy.evaluate import (
    DEFAULT_DATA,
    TrainConfig,
    cross_validate,
    fit,
    fit_stack,
    format_scores,
    load_examples,
    tune_thresholds,
)
from appwarden.evidence.policy.model import CR_IDS

OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "appwarden" / "evidence" / "policy" / "model_data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--c", type=float, default=TrainConfig.c)
    parser.add_argument("--chapter-weight", type=float, default=TrainConfig.chapter_weight)
    parser.add_argument("--stack-c", type=float, default=TrainConfig.stack_c, help="0 disables the second stage")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"development data not found: {args.data}", file=sys.stderr)
        return 2
    examples = load_examples(args.data)
    config = TrainConfig(c=args.c, chapter_weight=args.chapter_weight, stack_c=args.stack_c)
    started = time.monotonic()
    cv = cross_validate(examples, config)
    print(format_scores("CV with chapter:", cv.context))
    print(format_scores("CV text only:", cv.plain))
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=bool)
    model = fit(examples, config)
    stack: dict[str, np.ndarray] = {}
    if config.stack_c > 0:
        coef, intercept = fit_stack(
            cv.stage1_context, cv.stage1_plain, [e.chapter for e in examples], y, config.stack_c
        )
        stack = {"stack_coef": coef, "stack_intercept": intercept}
    model = dataclasses.replace(
        model,
        thresholds_context=tune_thresholds(y, cv.oof_context),
        thresholds_plain=tune_thresholds(y, cv.oof_plain),
        **stack,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(str(args.out / MODEL_FILE), model)
    metrics = {
        "model_version": model.version,
        "data": args.data.name,
        "sentences": len(examples),
        "groups": len({e.group for e in examples}),
        "config": dataclasses.asdict(config),
        "vocabulary_terms": model.n_terms,
        "cv": (
            "grouped 5-fold; thresholds for each fold tuned on the other folds' predictions by models that"
            " never saw that fold (nested)"
            if config.stack_c <= 0
            else "grouped 5-fold; thresholds for each fold tuned on the other folds' out-of-fold predictions"
        ),
        "macro_f1_with_chapter": round(cv.context.macro_f1, 4),
        "macro_f1_text_only": round(cv.plain.macro_f1, 4),
        "per_label_with_chapter": {k: [round(x, 4) for x in v[:3]] + [v[3]] for k, v in cv.context.per_label.items()},
        "per_label_text_only": {k: [round(x, 4) for x in v[:3]] + [v[3]] for k, v in cv.plain.per_label.items()},
        "thresholds_with_chapter": [round(float(t), 3) for t in model.thresholds_context],
        "thresholds_text_only": [round(float(t), 3) for t in model.thresholds_plain],
    }
    metrics_path = args.out / "metrics.json"
    if metrics_path.is_file():
        # Keep what other tools recorded beside these figures (the encoder ensemble's scores): rewriting the
        # n-gram block must not erase them. They were measured with the n-gram model as it was.
        previous = json.loads(metrics_path.read_text(encoding="utf-8"))
        metrics = {**previous, **metrics}
        if "ensemble" in previous:
            print(
                "the ensemble's thresholds and scores were tuned with the previous n-gram model: run "
                "tools/train_policy_encoder.py thresholds"
            )
    metrics_path.write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    size = (args.out / MODEL_FILE).stat().st_size
    print(f"wrote {args.out / MODEL_FILE} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
