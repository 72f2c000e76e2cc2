"""AlterRec as published, the library's default, and the default with each deviation from the
paper removed one at a time, beside SASRec, text-only and NFRec (issue 9, section 5).

Every model is trained on the training part, early-stopped (or, for AlterRec, its best epoch
kept) on the validation part, then evaluated once on the validation and the test part; nothing
is chosen on test. Each finished run is appended as one JSON line to ``--out`` at once, so an
interrupted grid loses at most the run in flight and ``--report`` can be rebuilt at any time:

    .venv/bin/python bench/run_alterrec_bench.py --datasets online_retail ml-100k --seeds 0 \\
        --threads 1 --out bench/alterrec_ablation_A.jsonl
    .venv/bin/python bench/run_alterrec_bench.py --report bench/alterrec_ablation_*.jsonl

Data: online_retail (embedded), split by time 0.8/0.1/0.1; ml-100k from RecBole atomic files
(``--ml100k``, not in the repository: licence), a user's ratings ordered by time as the session,
split leave-one-out (each user's last item the test target, the one before it the validation
target). Text: LSA of the catalogue text (online_retail: descriptions; ml-100k: titles and
genres).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

import sessrec as sr

KS = (10, 20)
METRICS = ["Hits@10", "Hits@20", "NDCG@10", "NDCG@20"]
ENCODER = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_len=50, dropout=0.2)
TEXT = dict(text="lsa", text_dim=64, text_hidden=(256,), text_dropout=0.1)
SINGLE = dict(**ENCODER, **TEXT, batch_size=256, lr=1e-3, metric="NDCG@20", epochs=10,
              patience=3)
BASELINES = {
    "SASRec": lambda **kw: sr.models.SASRec(**{k: v for k, v in kw.items() if k not in TEXT}),
    "text-only": lambda **kw: sr.models.TextOnly(**kw),
    "NFRec-sum": lambda **kw: sr.models.NFRec("sum", **kw),
    "NFRec-concat": lambda **kw: sr.models.NFRec("concat", **kw),
}
# The paper's setting closest to these datasets: Homedepot (purchase logs, sessions by user, a
# catalogue of 39k items; k1 6, k2 2000, g_mean ID encoder). Its k2 exceeds ml-100k's 1,682
# items: the paper's slice r[6:2000] then holds every item below rank 6 (fit_window "clip").
PAPER_SETTING = "homedepot"
# The default with one deviation from the paper removed (AlterRec module docstring).
# The rows were run when the default had m_max 20; it is 30 since 2026-12-02 (chosen on these
# validation figures), so "default" pins 20 and "-m_max 20 (30)" is today's default.
ABLATIONS = {
    "default": dict(m_max=20),
    "-mixed (all of r[k1:k2])": dict(negatives="hard"),
    "-window (k1 6, k2 2000)": dict(k1=6, k2=2000, fit_window="clip"),
    "-tower_norm (plain dot)": dict(tower_norm=False),
    "-cold_items (Eq. 12)": dict(cold_items="blend"),
    "-alpha valid (0.5)": dict(alpha=0.5),
    "-m_max 20 (30)": dict(m_max=30),
    "-id_encoder (g_mean)": dict(id_encoder="mean"),
}
ALTERREC = {
    "paper (dim 64)": lambda **kw: sr.models.AlterRec.paper(PAPER_SETTING, dim=64, **kw),
    # The paper searched "the learning rate in {0.01, 0.001}": the other value of its grid (the
    # table's "paper" figure is the one of the two with the better validation NDCG@20).
    "paper (dim 64, lr 0.01)": lambda **kw: sr.models.AlterRec.paper(
        PAPER_SETTING, dim=64, lr=0.01, **kw),
    **{f"AlterRec {name}": (lambda changes: lambda **kw: sr.models.AlterRec(
        **ENCODER, **TEXT, **{**kw, **changes}))(changes) for name, changes in ABLATIONS.items()},
    "paper_aug (dim 64)": lambda **kw: sr.models.AlterRec.paper(
        PAPER_SETTING, augmented=True, dim=64, **kw),
    "paper (dim 300)": lambda **kw: sr.models.AlterRec.paper(PAPER_SETTING, **kw),
}
MODELS = list(BASELINES) + list(ALTERREC)


def load(name: str, ml100k: str):
    if name == "online_retail":
        return sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1)
    return sr.datasets.load_recbole(ml100k).split("leave_one_out")


def metrics(model, part) -> dict:
    table = sr.evaluate(model, part, k=KS, progress=False)
    row = table.loc[("overall", "all")]
    return {m: float(row[m]) for m in METRICS}


def run_one(dataset: str, split, name: str, seed: int, threads: int) -> dict:
    train, valid, test = split
    common = dict(seed=seed, threads=threads)
    if name in BASELINES:
        model = BASELINES[name](**SINGLE, **common)
    else:
        model = ALTERREC[name](**common)
    start = time.perf_counter()
    model.fit(train, valid, progress=False)
    result = {"dataset": dataset, "model": name, "seed": seed, "threads": threads,
              "fit_seconds": time.perf_counter() - start, "params": model.params,
              "valid": metrics(model, valid), "test": metrics(model, test)}
    if isinstance(model, sr.models.AlterRec):
        result["alpha"] = model.alpha_
        result["window"] = model.mining_window(train.num_items)
        result["parts_test"] = {n: metrics(model.network(n), test) for n in ("id", "text")}
    if getattr(model, "history_", None) is not None:
        result["history"] = model.history_.to_dict("records")
    return result


def facts() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git": commit,
            "nproc": os.cpu_count(), "python": platform.python_version(),
            "load_average": os.getloadavg()}


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def report(paths: list[Path]) -> str:
    runs = [json.loads(line) for p in paths for line in p.read_text().splitlines()
            if line.strip() and '"model"' in line]
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        rows = [r for r in runs if r["dataset"] == dataset]
        out += [f"#### {dataset}", "",
                "| model | valid NDCG@20 | test Hits@20 | test NDCG@20 | test Hits@10 | "
                "test NDCG@10 | seeds | alpha | mean fit s |", "|---" * 9 + "|"]
        for name in MODELS:
            got = [r for r in rows if r["model"] == name]
            if not got:
                continue
            alpha = ", ".join(f"{r['alpha']:g}" for r in got) if "alpha" in got[0] else ""
            out.append(
                f"| {name} | {mean_std([r['valid']['NDCG@20'] for r in got])} | "
                + " | ".join(mean_std([r["test"][m] for r in got])
                             for m in ("Hits@20", "NDCG@20", "Hits@10", "NDCG@10"))
                + f" | {len(got)} | {alpha} | {np.mean([r['fit_seconds'] for r in got]):.0f} |")
        out.append("")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["online_retail", "ml-100k"],
                        choices=["online_retail", "ml-100k"])
    parser.add_argument("--models", nargs="+", default=[m for m in MODELS if "300" not in m],
                        choices=MODELS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--out", type=Path, default=Path("bench/alterrec_ablation.jsonl"))
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of run files")
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    done = set()
    if args.out.exists():  # resume: skip what the file already holds
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            if "model" in r:
                done.add((r["dataset"], r["model"], r["seed"]))
    with args.out.open("a") as f:
        f.write(json.dumps({"facts": facts(), "argv": os.sys.argv}) + "\n")
    for dataset in args.datasets:
        split = load(dataset, args.ml100k)
        for seed in args.seeds:
            for name in args.models:
                if (dataset, name, seed) in done:
                    continue
                result = run_one(dataset, split, name, seed, args.threads)
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
                print(f"{dataset} {name} seed {seed}: valid NDCG@20 "
                      f"{result['valid']['NDCG@20']:.4f}, test NDCG@20 "
                      f"{result['test']['NDCG@20']:.4f} ({result['fit_seconds']:.0f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
