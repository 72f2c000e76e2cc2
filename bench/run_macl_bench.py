"""MACL (issue 13) against SASRec, NFRec and AlterRec, and MACL's ablations: adaptive against
equal weights, semantic (multi-modal) against ID-level augmentation (MACL-com), without each
modality.

Every model is trained on the training part and early-stopped on the validation part, then
evaluated once on the validation and the test part; nothing is chosen on test. Each finished
run is appended as one JSON line to ``--out`` at once, so an interrupted grid loses at most the
run in flight, a rerun skips what the file holds, and ``--report`` rebuilds the tables:

    .venv/bin/python bench/run_macl_bench.py --threads 1 --out bench/macl_runs.jsonl
    .venv/bin/python bench/run_macl_bench.py --report bench/macl_runs.jsonl
    .venv/bin/python bench/run_macl_bench.py --smoke      # a minute: every model, tiny data

Data: online_retail (embedded; time split 0.8/0.1/0.1, the last item of a held-out session its
target), ml-100k (RecBole atomic files, ``--ml100k``; leave-one-out) - both text only, they have
no images, so MACL there is ID + text and "w/o image" is MACL itself - and synthetic data with
image-like item vectors (``sr.datasets.synthetic(image_dim=64)``: topic prototypes plus noise;
time split as online_retail), where "mix" mixes within the generator's latent topic (the
stand-in for a product category).

Metrics: the paper reports P@20 and MRR@20 with one target per test session. Its P@20 is the
share of sessions whose target is in the top 20, which is sessrec's Hits@20 (sessrec's
Precision@20 divides by 20 as well: Hits@20 / 20). Reported here: P@20 (= Hits@20), MRR@20 and
NDCG@20, overall, per training-popularity bucket of the target (long tail) and on cold targets
(no training event); training throughput (targets per second) beside SASRec's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import sessrec as sr

sys.path.insert(0, str(Path(__file__).parent))
from kdd_common import seed_table  # noqa: E402

KS = (20,)
METRICS = ("Hits@20", "MRR@20", "NDCG@20")
ENCODER = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_len=50, dropout=0.2)
TRAINING = dict(batch_size=256, lr=1e-3, metric="NDCG@20", epochs=20, patience=3)
TEXT = dict(text="lsa", text_dim=64, text_hidden=(256,), text_dropout=0.1)
SYNTHETIC = dict(num_items=2000, num_sessions=20000, image_dim=64)
SMOKE = dict(num_items=200, num_sessions=1200, image_dim=16)


def baselines(small: bool) -> dict:
    enc = dict(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20) if small else ENCODER
    text = dict(TEXT, text_dim=16, text_hidden=(32,)) if small else TEXT
    return {
        "POP": lambda **kw: sr.models.POP(),
        "SASRec": lambda **kw: sr.models.SASRec(**enc, **kw),
        "NFRec-sum": lambda **kw: sr.models.NFRec("sum", **enc, **text, **kw),
        # AlterRec runs its own schedule of alternating rounds (m_random, m_gap, m_max).
        "AlterRec": lambda **kw: sr.models.AlterRec(
            **enc, **text, **(dict(m_random=1, m_gap=1, m_max=2, k1=5, k2=60) if small else {}),
            **{k: v for k, v in kw.items() if k not in ("epochs", "patience")}),
    }


# MACL's variants: name -> settings on top of the defaults.
VARIANTS = {
    "MACL": {},
    "MACL equal weights": dict(weighting="equal"),
    "MACL-com (ID crop/mask/reorder)": dict(augmentation="id"),
    "MACL w/o image": dict(modalities=("text",)),
    "MACL w/o text": dict(modalities=("image",)),
    "MACL (LSA text)": dict(text="lsa", text_dim=64),
}
ORDER = ["POP", "SASRec", "NFRec-sum", "AlterRec", *VARIANTS]


def load(dataset: str, ml100k: str, seed: int, smoke: bool):
    """(train, valid, test, image features or None, categories field or None)."""
    if dataset == "online_retail":
        parts = sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1,
                                                        targets="last")
        return (*parts, None, None)
    if dataset == "ml-100k":
        return (*sr.datasets.load_recbole(ml100k).split("leave_one_out"), None, None)
    ds = sr.datasets.synthetic(**(SMOKE if smoke else SYNTHETIC), seed=seed, with_queries=False)
    return (*ds.split("time", valid=0.1, test=0.1, targets="last"), ds.image_features, "topic")


def model_names(has_image: bool) -> list[str]:
    names = list(ORDER)
    if not has_image:  # without images "w/o image" is MACL itself and "w/o text" is empty
        names = [n for n in names if n not in ("MACL w/o image", "MACL w/o text")]
    return names


def make(name: str, image, categories, seed: int, threads: int, small: bool):
    common = dict(seed=seed, threads=threads)
    if name in baselines(small):
        return baselines(small)[name](**TRAINING if not small else dict(TRAINING, epochs=1),
                                      **common)
    enc = dict(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20) if small else ENCODER
    train = dict(TRAINING, epochs=1) if small else TRAINING
    settings = dict(VARIANTS[name])
    if image is None:
        settings.setdefault("modalities", ("text",))
    if small:
        settings.update(vocab_size=300, cl_negatives=16)
        if settings.get("text") == "lsa":
            settings["text_dim"] = 16
    return sr.models.MACL(image=image, categories=categories, **enc, **train, **common,
                          **settings)


def breakdown(model, part) -> dict:
    """P@20 (= Hits@20), MRR@20, NDCG@20 and the number of targets of every group of the
    evaluation table: overall, each popularity bucket, cold and warm."""
    table = sr.evaluate(model, part, k=KS, progress=False)
    out = {}
    for (kind, group), row in table.iterrows():
        label = "" if kind == "overall" else f"{group} "
        for m in METRICS:
            out[label + ("P@20" if m == "Hits@20" else m)] = float(row[m])
        out[label + "targets"] = int(row["examples"])
    return out


def run_one(dataset, parts, name, seed, threads, small) -> dict:
    train, valid, test, image, categories = parts
    model = make(name, image, categories, seed, threads, small)
    start = time.perf_counter()
    if hasattr(model, "history_"):
        model.fit(train, valid, progress=False)
    else:
        model.fit(train)
    seconds = time.perf_counter() - start
    result = {"dataset": dataset, "variant": name, "seed": seed, "threads": threads,
              "seconds": seconds, "params": {k: v for k, v in model.params.items()
                                             if isinstance(v, (int, float, str, list, type(None)))},
              "valid": breakdown(model, valid), "test": breakdown(model, test)}
    history = getattr(model, "history_", None)
    if history is not None:
        result["history"] = history.to_dict("records")
        result["examples_per_s"] = float(history["examples_per_s"].mean())
    return result


def claims(runs: list[dict]) -> str:
    """Whether each of the paper's claims holds here, on the mean test P@20 and MRR@20."""
    lines = ["", "| dataset | claim | P@20 | MRR@20 |", "|---|---|---|---|"]
    pairs = [("MACL beats the best baseline", "MACL", ("SASRec", "NFRec-sum", "AlterRec")),
             ("adaptive beats equal weights", "MACL", ("MACL equal weights",)),
             ("semantic beats ID-level augmentation", "MACL",
              ("MACL-com (ID crop/mask/reorder)",))]
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        mean = {}
        for r in runs:
            if r["dataset"] == dataset:
                mean.setdefault(r["variant"], []).append(r["test"])
        for claim, mine, others in pairs:
            if mine not in mean or not any(o in mean for o in others):
                continue
            cells = []
            for m in ("P@20", "MRR@20"):
                a = np.mean([t[m] for t in mean[mine]])
                b = max(np.mean([t[m] for t in mean[o]]) for o in others if o in mean)
                cells.append(f"{'holds' if a > b else 'does not hold'} ({a:.4f} vs {b:.4f})")
            lines.append(f"| {dataset} | {claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def throughput(runs: list[dict]) -> str:
    """Training targets per second against SASRec's, and for MACL the last epoch's range of the
    adaptive weights (1-1 with equal weights; a range near 1 says the weighting MLP learnt
    little, the paper's "failure signature" of the adaptive loss)."""
    lines = ["", "| dataset | variant | targets/s | vs SASRec | alpha range (last epoch) |",
             "|---|---|---|---|---|"]
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        rate = {}
        for r in runs:
            if r["dataset"] == dataset and "examples_per_s" in r:
                rate.setdefault(r["variant"], []).append(r["examples_per_s"])
        base = np.mean(rate["SASRec"]) if "SASRec" in rate else None
        alpha = {}
        for r in runs:
            if r["dataset"] == dataset and "alpha_min" in (r.get("history") or [{}])[-1]:
                last = r["history"][-1]
                alpha.setdefault(r["variant"], []).append((last["alpha_min"], last["alpha_max"]))
        for name in ORDER:
            if name in rate:
                ratio = f"{np.mean(rate[name]) / base:.2f}x" if base else "-"
                span = (f"{min(a for a, _ in alpha[name]):.3f}-"
                        f"{max(b for _, b in alpha[name]):.3f}" if name in alpha else "")
                lines.append(f"| {dataset} | {name} | {np.mean(rate[name]):,.0f} | {ratio} | "
                             f"{span} |")
    return "\n".join(lines)


def report(paths: list[Path]) -> str:
    runs = [json.loads(line) for p in paths for line in open(p)
            if line.strip() and '"variant"' in line]
    tail = list(dict.fromkeys(k.rsplit(" ", 1)[0] for r in runs for k in r["test"]
                              if k.endswith(" NDCG@20") and k[0] in "[(>"))  # bucket order
    columns = ["test P@20", "test MRR@20", "test NDCG@20", "valid NDCG@20",
               *[f"test {b} NDCG@20" for b in tail], "test cold P@20"]
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "macl_report.jsonl"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in runs))
    return (seed_table([tmp], columns, ORDER) + "\n" + claims(runs) + "\n" + throughput(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["online_retail", "ml-100k", "synthetic"],
                        choices=["online_retail", "ml-100k", "synthetic"])
    parser.add_argument("--models", nargs="+", default=ORDER, choices=ORDER)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--out", type=Path, default=Path("bench/macl_runs.jsonl"))
    parser.add_argument("--smoke", action="store_true",
                        help="tiny synthetic data, one epoch, seed 0, every model; writes to "
                             "--out (default /tmp/macl_smoke.jsonl) and prints the report")
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of run files")
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    if args.smoke:
        args.datasets, args.seeds = ["synthetic"], [0]
        if args.out == parser.get_default("out"):
            args.out = Path("/tmp/macl_smoke.jsonl")
        args.out.unlink(missing_ok=True)
    done = set()
    if args.out.exists():  # resume: skip what the file already holds
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            if "variant" in r:
                done.add((r["dataset"], r["variant"], r["seed"]))
    with args.out.open("a") as f:
        f.write(json.dumps({"argv": sys.argv, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                    time.gmtime()),
                            "nproc": os.cpu_count()}) + "\n")
    for dataset in args.datasets:
        for seed in args.seeds:
            parts = load(dataset, args.ml100k, seed, args.smoke)
            for name in model_names(parts[3] is not None):
                if name not in args.models or (dataset, name, seed) in done:
                    continue
                result = run_one(dataset, parts, name, seed, args.threads, args.smoke)
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
                print(f"{dataset} {name} seed {seed}: test P@20 {result['test']['P@20']:.4f} "
                      f"MRR@20 {result['test']['MRR@20']:.4f} ({result['seconds']:.0f} s)",
                      flush=True)
    if args.smoke:
        print(report([args.out]))


if __name__ == "__main__":
    main()
