"""The markdown tables of bench/run_ubm_bench.py's JSON lines (``--report``): Table 1 and
Table 2 per dataset and task (mean ± std over seeds), whether pre-training helps (UBM against
UBM_wo), NIP by the target's training count (Figure 5) and the pre-training throughput."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

NIP_METRICS = ["Hits@10", "MRR@10", "Hits@20", "MRR@20"]
PIP_METRICS = ["accuracy", "auroc", "f1", "cohen_kappa"]
RLP_METRICS = ["mae", "mse", "msle", "r2"]
TABLE1 = ["RAND/FIXED/POP", "SASRec", "mean-pooled", "UBM_wo", "UBM_stage2", "UBM"]
TABLE2 = ["UBM"] + [f"UBM_no_loss{k}" for k in (1, 2, 3, 4)]
ORDER = TABLE1 + TABLE2[1:]


def mean_std(values, digits: int = 4) -> str:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return "—"
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    return f"{values.mean():,.{digits}f} ± {values.std(ddof=1):,.{digits}f}"


def task_table(runs, dataset, task, metrics, variants) -> list[str]:
    lines = []
    for variant in variants:
        got = [r["tasks"][task] for r in runs
               if r["dataset"] == dataset and r["variant"] == variant and task in r["tasks"]]
        if got:
            lines.append(f"| {variant} | {len(got)} | " +
                         " | ".join(mean_std([g.get(m) for g in got]) for m in metrics) + " |")
    if not lines:
        return []
    return [f"| {task.upper()} | n | " + " | ".join(metrics) + " |",
            "|---|---|" + "---|" * len(metrics)] + lines + [""]


# Each task's headline metric and its direction (+1: larger is better).
HEADLINE = {"pip": ("auroc", 1), "rlp": ("mse", -1), "nip": ("Hits@20", 1)}


def claim_table(runs, dataset) -> list[str]:
    """The paper's claim that pre-training helps every task: UBM against UBM_wo on each task's
    headline metric, the difference of the means over seeds (signed so that > 0 favours UBM) and
    its standard error; "holds" when the difference exceeds two standard errors."""
    lines = []
    for task, (metric, sign) in HEADLINE.items():
        got = {v: np.array([r["tasks"][task][metric] for r in runs if r["dataset"] == dataset
                            and r["variant"] == v and task in r["tasks"]], dtype=float)
               for v in ("UBM", "UBM_wo")}
        a, b = got["UBM"], got["UBM_wo"]
        if len(a) == 0 or len(b) == 0:
            continue
        difference = sign * (a.mean() - b.mean())
        if min(len(a), len(b)) >= 2:
            error = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
            verdict = ("holds" if difference > 2 * error else
                       "reversed" if difference < -2 * error else "within noise")
            error_text = f"{error:.4f}"
        else:
            error_text, verdict = "—", "one seed: " + ("UBM ahead" if difference > 0 else
                                                        "UBM not ahead")
        lines.append(f"| {task.upper()} {metric} | {a.mean():.4f} | {b.mean():.4f} | "
                     f"{difference:+.4f} | {error_text} | {verdict} |")
    if not lines:
        return []
    return [f"Does pre-training help ({dataset})? UBM against UBM_wo, difference signed so "
            "that > 0 favours UBM:", "",
            "| task metric | UBM | UBM_wo | difference | std. error | claim |",
            "|---|---|---|---|---|---|"] + lines + [""]


def bucket_table(runs, dataset) -> list[str]:
    """Figure 5: NIP Hits@20 per popularity bucket (mean over seeds) and its change against
    SASRec's."""
    got = {}
    for r in runs:
        if r["dataset"] == dataset and "nip" in r["tasks"]:
            for bucket, v in r["tasks"]["nip"]["buckets"].items():
                got.setdefault(r["variant"], {}).setdefault(bucket, []).append(v["Hits@20"])
    if not got:
        return []
    buckets = list(dict.fromkeys(b for v in got.values() for b in v))
    sizes = {b: next(r["tasks"]["nip"]["buckets"][b]["targets"] for r in runs
                     if r["dataset"] == dataset and "nip" in r["tasks"]
                     and b in r["tasks"]["nip"]["buckets"]) for b in buckets}
    lines = [f"Test Hits@20 by the target's training count ({dataset}; in brackets: relative "
             "to SASRec):", "",
             "| model | " + " | ".join(f"{b} ({sizes[b]})" for b in buckets) + " |",
             "|---|" + "---|" * len(buckets)]
    base = {b: np.mean(v) for b, v in got.get("SASRec", {}).items()}
    for variant in ORDER:
        if variant not in got:
            continue
        cells = []
        for b in buckets:
            if b not in got[variant]:
                cells.append("—")
                continue
            m = float(np.mean(got[variant][b]))
            rel = f" ({(m / base[b] - 1) * 100:+.0f}%)" if base.get(b) else ""
            cells.append(f"{m:.4f}{rel}")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return lines + [""]


def throughput_table(rows) -> list[str]:
    if not rows:
        return []
    lines = ["Pre-training throughput (tokens/s through the interaction encoder, mean ± std "
             "over seeds) and peak RSS:", "",
             "| stage | framework | n | threads | tokens/s | step median s | peak MiB | "
             "max difference h' / loss |", "|---" * 8 + "|"]
    for stage in (1, 2):
        for framework in ("sessrec", "torch"):
            got = [r for r in rows if r["stage"] == stage and r["framework"] == framework]
            if not got:
                continue
            diff = (f"{max(r['max_difference_to_sessrec'] for r in got):.1e} / "
                    f"{max(r.get('loss_difference_to_sessrec', np.nan) for r in got):.1e}"
                    if framework == "torch" else "—")
            lines.append(
                f"| {stage} | {framework} | {len(got)} | {got[0]['threads']} | "
                f"{mean_std([r['tokens_per_s'] for r in got], 0)} | "
                f"{mean_std([r['step_median_s'] for r in got], 3)} | "
                f"{max(r['peak_mib'] for r in got):.0f} | {diff} |")
    return lines + [""]


def pretraining_table(runs) -> list[str]:
    """Tokens/s and peak RSS of the full UBM rows' own pre-training (their epoch histories)."""
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        got = [r for r in runs if r["dataset"] == dataset and r["variant"] == "UBM"]
        for stage in (1, 2):
            rates = [np.mean([e["tokens_per_s"] for e in r["pretrain"] if e["stage"] == stage])
                     for r in got if any(e["stage"] == stage for e in r["pretrain"])]
            if rates:
                lines.append(f"| {dataset} | {stage} | {len(rates)} | {got[0]['threads']} | "
                             f"{mean_std(rates, 0)} | "
                             f"{max(r['peak_mib'] for r in got):.0f} |")
    if not lines:
        return []
    return ["Pre-training inside the UBM rows (tokens/s over each stage's epochs; peak RSS of the "
            "run's process so far):", "",
            "| dataset | stage | n | threads | tokens/s | peak MiB |", "|---" * 6 + "|"] + \
        lines + [""]


def report(paths) -> str:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()
            if line.strip()]
    runs = [r for r in rows if "variant" in r]
    sides = [s for r in rows if r.get("kind") == "throughput" for s in r["sides"]]
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        out += [f"#### {dataset}: Table 1 (test; mean ± std over seeds, n = seeds)", ""]
        for task, metrics in (("pip", PIP_METRICS), ("rlp", RLP_METRICS), ("nip", NIP_METRICS)):
            out += task_table(runs, dataset, task, metrics, TABLE1)
        if any(r["variant"].startswith("UBM_no_loss") for r in runs if r["dataset"] == dataset):
            out += [f"#### {dataset}: Table 2 (one pre-training loss switched off)", ""]
            for task, metrics in (("pip", PIP_METRICS), ("rlp", RLP_METRICS),
                                  ("nip", NIP_METRICS)):
                out += task_table(runs, dataset, task, metrics, TABLE2)
        out += claim_table(runs, dataset)
        out += bucket_table(runs, dataset)
    out += throughput_table(sides)
    out += pretraining_table(runs)
    return "\n".join(out)
