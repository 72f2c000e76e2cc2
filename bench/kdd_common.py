"""What the KDD Cup 2023 benchmarks share (bench/run_lang_emb_bench.py,
bench/run_kdd_pipeline_bench.py): the data parts and the metrics they report."""

from __future__ import annotations

import sessrec as sr

# The synthetic generator's size for the pipeline benchmark (--smoke shrinks it).
SYNTHETIC = dict(num_items=2000, num_sessions=20000)


def load_parts(name: str, ml100k: str, seed: int = 0):
    """(train, valid, test): online_retail and synthetic split by time 0.8/0.1/0.1 with the last
    item of each held-out session as its target; ml-100k leave-one-out."""
    if name == "online_retail":
        return sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1,
                                                       targets="last")
    if name == "ml-100k":
        return sr.datasets.load_recbole(ml100k).split("leave_one_out")
    if name == "synthetic":
        return sr.datasets.synthetic(**SYNTHETIC, seed=seed).split("time", valid=0.1, test=0.1,
                                                                    targets="last")
    raise ValueError(f"unknown dataset {name!r}")


def metrics(model, part) -> dict:
    """MRR@100, Hits@20 and NDCG@20 overall and on cold targets (items with no training event),
    with the number of targets of each group."""
    table = sr.evaluate(model, part, k=(20, 100), progress=False)
    out = {}
    for group, label in ((("overall", "all"), ""), (("cold", "cold"), "cold ")):
        if group not in table.index:
            continue
        row = table.loc[group]
        for m in ("MRR@100", "Hits@20", "NDCG@20"):
            out[label + m] = float(row[m])
        out[label + "targets"] = int(row["examples"])
    return out


def seed_table(paths, columns, order) -> str:
    """Markdown tables (one per dataset) of the JSON-lines runs in `paths`: per variant, the
    mean ± std over seeds of each of `columns` ("valid X" / "test X" of the runs' metrics),
    the number of seeds and the mean seconds; variants in `order`."""
    import json

    import pandas as pd

    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    if not rows:
        return "(no runs)"
    records = []
    for r in rows:
        rec = dict(dataset=r["dataset"], variant=r["variant"], seed=r["seed"],
                   seconds=r["seconds"])
        for part in ("valid", "test"):
            rec.update({f"{part} {k}": v for k, v in r.get(part, {}).items()})
        records.append(rec)
    frame = pd.DataFrame(records)
    cols = [c for c in columns if c in frame.columns]
    rank = {v: i for i, v in enumerate(order)}
    lines = []
    for dataset, group in frame.groupby("dataset"):
        lines += [f"\n{dataset} (mean ± std over seeds; n = seeds):\n",
                  "| variant | n | " + " | ".join(cols) + " | seconds |",
                  "|---|---|" + "---|" * len(cols) + "---|"]
        for variant, g in sorted(group.groupby("variant"), key=lambda kv: rank.get(kv[0], 99)):
            cells = []
            for c in cols:
                v = g[c].dropna()
                cells.append(f"{v.mean():.4f} ± {v.std(ddof=0):.4f}" if len(v) else "—")
            lines.append(f"| {variant} | {len(g)} | " + " | ".join(cells) +
                         f" | {g['seconds'].mean():.0f} |")
    return "\n".join(lines)
