"""UBM (issue 12, "Shown"): the paper's Table 1 shape (PIP, RLP, NIP), its Table 2 ablation
(no_loss1..4), the sparse-item breakdown of its Figure 5, and pre-training throughput against
the same model in PyTorch, with peak memory.

    .venv/bin/python bench/run_ubm_bench.py --out bench/ubm.jsonl              # everything
    .venv/bin/python bench/run_ubm_bench.py --parts throughput --out bench/ubm.jsonl
    .venv/bin/python bench/run_ubm_bench.py --report bench/ubm.jsonl           # markdown
    .venv/bin/python bench/run_ubm_bench.py --smoke                            # checks the script

Data. synthetic: ``sr.datasets.synthetic`` with ``purchase_intent`` (purchases depend on the
session, so PIP has a signal) and sessions long enough for PIP's minimum input of 5; the
interaction text holds the title and the brand, not the latent topic (a "topic" attribute would
hand the model the generator's ground truth). Split by time 0.8/0.1/0.1, the last item of each
held-out session its NIP target. online_retail (embedded; no actions: every interaction is a
[VIEW]) by time 0.8/0.1/0.1 with last-item targets, and ml-100k (``--ml100k``) leave-one-out:
NIP only, they have no purchases. The generator draws a session's length before its events
(2 + Poisson) and purchase intent does not change it, so on synthetic data RLP can learn from
the prefix's length alone: an R^2 near 0 is what the data allow, for every model.

Rows (Table 1). "UBM": stage 1 then stage 2, from random weights (sessrec has no pre-trained
BERT to start from, so this is the paper's UBM_wo_BERT, "pre-training UBM without loading
pre-trained BERT as starting point for Interaction Encoder"); "UBM_wo": no pre-training (the
paper's UBM_wo); "UBM_stage2": stage 2 only (no item-level stage; not a row of the paper);
"mean-pooled": the paper's BERT_mini-style baseline, here the same interaction encoder after
stage 1 (item-level pre-training on these sessions, so nearer the paper's BERT_mini_domain)
with the session vector the mean of the interaction vectors, no session encoder, fine-tuned with
the same task layers (bench/ubm_mean_pooled.py: pooling and task layers in NumPy, the encoder in
C++); "UBM_no_loss1..4" (Table 2, synthetic only): both stages with one loss switched off
(``UBM(no_loss=(k,))``; §4.4 "we pre-train UBM with one corresponding loss ignored at a time");
"RAND/FIXED/POP" and "SASRec" (NIP; the ID-based sequence model in place of the paper's SR-GNN),
after §4.1.3: "For PIP, RAND refers to generating random binary predictions. For FIXED under
RLP, we used the average remaining length of training data as prediction results. For NIP, we
have POP and SR-GNN [40]. POP means that we use the most popular items appeared in training data
as prediction results." RAND here draws uniform probabilities: thresholded at 0.5 (accuracy, F1,
kappa) they are random binary predictions, and AUROC reads them as scores. Every UBM row
fine-tunes a copy of the pre-trained model for each task (sr.tasks).

Sizes are the paper's (§4.2) scaled to a 2-core CPU: hidden 64 and 2 + 2 layers (256, 4 + 4),
stage batches 128 pairs / 32 sessions (512 / 128), 2 epochs per stage (1), 32 tokens per
interaction (64); learning rate 1e-3 for pre-training and fine-tuning (3e-5, a rate for a model
started from BERT, moves a model from scratch little in a few epochs), fine-tuning 8 epochs
(30) with patience 2, batch 32 as the paper.

Protocol. Validation parts choose the fine-tuning epoch (lowest validation loss; the
pre-training stages have no model selection) and SASRec's early stopping; each task reads its
test part once per run. Pre-training reads the training part only. NIP follows §4.1.1, "by
ignoring items appeared less than 5 times and removed the item from validation/test set if it
does not appear in the training set": candidates are items seen at least 5 times in training,
and validation/test keep only the examples whose target is one (``nip_examples``), for every
model. UBM's NIP training uses a seeded sample of at most ``NIP["train_examples"]``
training prefixes (all prefixes of online_retail are 185k, of ml-100k 97k: too many for a CPU
run in minutes); SASRec and POP train on the whole training part. Candidates are encoded once per
epoch (``candidate_updates="epoch"``): per-step candidate encoding costs a catalogue per step.
Figure 5 (§4.5: "we divide test dataset into different sparsity groups according to their
occurrence in the training dataset, and then run NIP experiments on each data group. [...] The
performance improvement is calculated with reference to SR-GNN as a baseline."): NIP Hits@20 of
the test targets in sr.evaluate's popularity buckets (training count [0,30], (30,60], ...; the
first bucket starts at 5 after the filter above), relative to SASRec.

Throughput (``--parts throughput``): stage 1 and stage 2 steps of the same model on the same
synthetic batches, sessrec (``UBMModel.train_stage1/2``: views, forward, backward, Adam) and
PyTorch (bench/ubm_torch_peer.py, started from the sessrec core's weights and checked against it;
forward, backward, Adam on the views the sessrec core draws for the same steps, drawn before the
clock starts), each in its own process with the same thread count; tokens/s counts the tokens
through the interaction encoder (every view, cut to the per-interaction limit), and peak RSS is
the process's ``ru_maxrss``. Every row carries the date, git commit, CPU, threads and load.

Each finished run is one JSON line appended to ``--out`` at once; a rerun skips the runs the file
holds. A task row's ``peak_mib`` is its process's peak so far (the runs of one invocation share a
process); the throughput sides' peaks are their own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import sessrec as sr
from sessrec import _core
from sessrec.models.ubm import UBM
from sessrec.text_interactions import InteractionTokenizer
from ubm_report import NIP_METRICS, report

SYNTHETIC = dict(num_items=1000, num_sessions=6000, mean_session_length=12, purchase_intent=0.6)
ATTRIBUTES = {"synthetic": ["brand"], "online_retail": None, "ml-100k": None}
TOKENS = dict(max_interactions=32, max_title_tokens=32, max_tokens_per_interaction=32,
              vocab_size=2000)
MODEL = dict(dim=64, layers=2, session_layers=2, heads=2, ffn_dim=256, dropout=0.1,
             temperature=0.05, stage1_epochs=2, stage2_epochs=2, stage1_batch_size=128,
             stage2_batch_size=32, lr=1e-3, warmup=0.1)
FINETUNE = dict(epochs=8, batch_size=32, lr=1e-3, patience=2)
NIP = dict(min_count=5, candidate_updates="epoch", train_examples=20000)
SASREC = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_len=32, dropout=0.2, batch_size=256,
              lr=1e-3, epochs=30, patience=3, metric="NDCG@20")
THROUGHPUT = dict(warmup_steps=2, steps=10)
SMOKE_FLAG = "--smoke"  # also passed to the throughput sides' processes
KS = (10, 20)
UBM_VARIANTS = {
    "UBM": dict(stages=(1, 2)),
    "UBM_wo": dict(stages=()),
    "UBM_stage2": dict(stages=(2,)),
    **{f"UBM_no_loss{k}": dict(stages=(1, 2), no_loss=(k,)) for k in (1, 2, 3, 4)},
    "mean-pooled": dict(stages=(1,), mean_pooled=True),
}
VARIANTS = list(UBM_VARIANTS) + ["RAND/FIXED/POP", "SASRec"]
DATASETS = ["synthetic", "online_retail", "ml-100k"]


# ------------------------------------------------------------------------------------ facts
def facts(threads: int) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git": commit,
            "cpu": cpu, "nproc": os.cpu_count(), "threads": threads,
            "python": platform.python_version(), "load_average": os.getloadavg()}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------- data
def load(dataset: str, ml100k: str, seed: int):
    """(the Dataset, its (train, valid, test) parts)."""
    if dataset == "synthetic":
        ds = sr.datasets.synthetic(**SYNTHETIC, seed=seed)
        return ds, ds.split("time", valid=0.1, test=0.1, targets="last")
    if dataset == "online_retail":
        ds = sr.datasets.load("online_retail")
        return ds, ds.split("time", valid=0.1, test=0.1, targets="last")
    if dataset == "ml-100k":
        ds = sr.datasets.load_recbole(ml100k)
        return ds, ds.split("leave_one_out")
    raise ValueError(f"unknown dataset {dataset!r}")


def sample_examples(part, count: int, seed: int):
    """``part`` with a seeded sample of at most ``count`` of its examples (order kept)."""
    ex = part.examples()
    if len(ex) <= count:
        return part
    keep = np.sort(np.random.default_rng([seed, 12]).choice(len(ex), count, replace=False))
    kept = _core.ExampleSet(np.asarray(ex.begin)[keep], np.asarray(ex.end)[keep],
                            np.asarray(ex.session)[keep])
    return dataclasses.replace(part, _examples=kept)


# ---------------------------------------------------------------------------------- metrics
def nip_metrics(model, part) -> dict:
    """Overall NIP metrics and, per popularity bucket of the target, Hits@20 and MRR@20 with the
    bucket's number of targets (Figure 5)."""
    table = sr.evaluate(model, part, k=KS, metrics=("Hits", "MRR"), progress=False)
    row = table.loc[("overall", "all")]
    out = {m: float(row[m]) for m in NIP_METRICS}
    out["targets"] = int(row["examples"])
    out["buckets"] = {group: {"targets": int(r["examples"]), "Hits@20": float(r["Hits@20"]),
                              "MRR@20": float(r["MRR@20"])}
                      for (breakdown, group), r in table.iterrows()
                      if breakdown == "popularity" and r["examples"] > 0}
    return out


def series(values) -> dict:
    return {k: float(v) for k, v in values.items()}


# ------------------------------------------------------------------------------------- runs
def make_ubm(dataset: str, seed: int, no_loss=()) -> UBM:
    tokenizer = InteractionTokenizer(**TOKENS, attributes=ATTRIBUTES[dataset], seed=seed)
    return UBM(**MODEL, no_loss=no_loss, seed=seed, tokenizer=tokenizer)


def run_ubm(dataset: str, variant: str, seed: int, ds, parts, tasks, progress: bool) -> dict:
    train, valid, test = parts
    spec = UBM_VARIANTS[variant]
    ubm = make_ubm(dataset, seed, spec.get("no_loss", ()))
    start = time.perf_counter()
    # Built first: the tokenizer is fitted on the Dataset's catalogue and queries. Pre-training
    # reads the training part only (test sessions would hold the NIP test targets).
    ubm.pretrain(ds, stage=1, epochs=0, progress=False)
    for stage in spec["stages"]:
        ubm.pretrain(train, stage=stage, progress=progress)
    row = {"pretrain_seconds": time.perf_counter() - start,
           "pretrain": ubm.history_.to_dict("records"), "tasks": {}}
    common = dict(seed=seed, progress=progress, dataset=ds)
    if spec.get("mean_pooled"):
        return {**row, "tasks": mean_pooled_tasks(ubm, parts, tasks, common)}
    if "pip" in tasks:
        start = time.perf_counter()
        tuned = sr.tasks.finetune(ubm, "pip", train, valid, **FINETUNE, **common)
        row["tasks"]["pip"] = {**series(tuned.evaluate(test)), "best_epoch": tuned.best_epoch,
                               "seconds": time.perf_counter() - start}
    if "rlp" in tasks:
        start = time.perf_counter()
        tuned = sr.tasks.finetune(ubm, "rlp", train, valid, **FINETUNE, **common)
        row["tasks"]["rlp"] = {**series(tuned.evaluate(test)), "best_epoch": tuned.best_epoch,
                               "seconds": time.perf_counter() - start}
    start = time.perf_counter()
    nip = sr.tasks.NextItemUBM(ubm, min_count=NIP["min_count"],
                               candidate_updates=NIP["candidate_updates"], **FINETUNE, **common)
    nip.fit(sample_examples(train, NIP["train_examples"], seed),
            sr.tasks.nip_examples(valid, NIP["min_count"]))
    row["tasks"]["nip"] = {**nip_metrics(nip, sr.tasks.nip_examples(test, NIP["min_count"])),
                           "best_epoch": nip.best_epoch, "seconds": time.perf_counter() - start}
    return row


def mean_pooled_tasks(ubm, parts, tasks, common) -> dict:
    """PIP, RLP and NIP of the mean-pooled baseline on a UBM pre-trained by stage 1."""
    from ubm_mean_pooled import MeanPooledNIP, MeanPooledTask

    train, valid, test = parts
    out = {}
    for task in ("pip", "rlp"):
        if task in tasks:
            start = time.perf_counter()
            model = MeanPooledTask(ubm, task, **FINETUNE, **common).fit(train, valid)
            out[task] = {**series(model.evaluate(test)), "best_epoch": model.best_epoch,
                         "seconds": time.perf_counter() - start}
    start = time.perf_counter()
    nip = MeanPooledNIP(ubm, min_count=NIP["min_count"], **FINETUNE, **common)
    nip.fit(sample_examples(train, NIP["train_examples"], common["seed"]),
            sr.tasks.nip_examples(valid, NIP["min_count"]))
    out["nip"] = {**nip_metrics(nip, sr.tasks.nip_examples(test, NIP["min_count"])),
                  "best_epoch": nip.best_epoch, "seconds": time.perf_counter() - start}
    return out


def run_baselines(seed: int, ds, parts, tasks) -> dict:
    """RAND (PIP), FIXED (RLP), POP (NIP)."""
    train, _, test = parts
    out = {"tasks": {}}
    if "pip" in tasks:
        labels = np.asarray(sr.tasks.pip_examples(test, action_names=ds.action_names)["label"],
                            dtype=float)
        guesses = np.random.default_rng([seed, 5]).random(len(labels))
        out["tasks"]["pip"] = series(sr.classification_metrics(labels, guesses))
    if "rlp" in tasks:
        mean = float(sr.tasks.rlp_examples(train, seed=seed)["label"].mean())
        labels = np.asarray(sr.tasks.rlp_examples(test, seed=seed)["label"], dtype=float)
        out["tasks"]["rlp"] = series(sr.regression_metrics(labels, np.full(len(labels), mean)))
    pop = sr.models.POP().fit(train)
    out["tasks"]["nip"] = nip_metrics(pop, sr.tasks.nip_examples(test, NIP["min_count"]))
    return out


def run_sasrec(seed: int, threads: int, parts, progress: bool) -> dict:
    train, valid, test = parts
    model = sr.models.SASRec(**SASREC, seed=seed, threads=threads)
    model.fit(train, sr.tasks.nip_examples(valid, NIP["min_count"]), progress=progress)
    return {"tasks": {"nip": nip_metrics(model, sr.tasks.nip_examples(test, NIP["min_count"]))}}


def run_one(dataset, variant, seed, threads, ds, parts, progress) -> dict:
    tasks = ("pip", "rlp", "nip") if dataset == "synthetic" else ("nip",)
    sr.set_num_threads(threads)
    start = time.perf_counter()
    if variant in UBM_VARIANTS:
        row = run_ubm(dataset, variant, seed, ds, parts, tasks, progress)
    elif variant == "SASRec":
        row = run_sasrec(seed, threads, parts, progress)
    else:
        row = run_baselines(seed, ds, parts, tasks)
    return {"dataset": dataset, "variant": variant, "seed": seed,
            "seconds": time.perf_counter() - start, "peak_mib": peak_mib(),
            "settings": settings(dataset), **row, **facts(threads)}


def settings(dataset: str) -> dict:
    return {"synthetic": SYNTHETIC if dataset == "synthetic" else None, "tokens": TOKENS,
            "attributes": ATTRIBUTES[dataset], "model": MODEL, "finetune": FINETUNE, "nip": NIP,
            "sasrec": SASREC}


# ------------------------------------------------------------------------------- throughput
def side(spec: dict) -> dict:
    """One side of the throughput comparison, in this (fresh) process: ``spec`` holds framework
    ("sessrec" or "torch"), stage, seed, threads, steps."""
    sr.set_num_threads(spec["threads"])
    ds = sr.datasets.synthetic(**SYNTHETIC, seed=spec["seed"])
    train = ds.split("time", valid=0.1, test=0.1, targets="last")[0]
    ubm = make_ubm("synthetic", spec["seed"])
    ubm.pretrain(ds, stage=1, epochs=0, progress=False)  # built, untrained
    tokens = ubm.tokenizer.sessions(train)
    so = np.asarray(tokens.session_offsets, dtype=np.int64)
    to = np.asarray(tokens.token_offsets, dtype=np.int64)
    ids = np.asarray(tokens.ids, dtype=np.int32)
    rng = np.random.default_rng([spec["seed"], spec["stage"]])
    steps = spec["warmup_steps"] + spec["steps"]
    if spec["stage"] == 1:
        session_of = np.repeat(np.arange(len(so) - 1), np.diff(so))
        units, batch = np.flatnonzero(session_of[:-1] == session_of[1:]), MODEL["stage1_batch_size"]
    else:
        units, batch = np.flatnonzero(np.diff(so) > 0), MODEL["stage2_batch_size"]
    batches = [np.sort(rng.choice(units, batch, replace=False)).astype(np.int64)
               for _ in range(steps)]
    core, times, counted = ubm.core, [], []
    losses = [k not in ubm.params["no_loss"] for k in (1, 2, 3, 4)]
    result = dict(spec, load1_start=os.getloadavg()[0])
    if spec["framework"] == "sessrec":
        optimizer = _core.Adam(lr=MODEL["lr"])
        for rows in batches:
            begin = time.perf_counter()
            if spec["stage"] == 1:
                _, _, _, _, t = core.train_stage1(so, to, ids, rows, rows + 1, optimizer)
            else:
                _, _, _, _, t = core.train_stage2(so, to, ids, rows, optimizer)
            times.append(time.perf_counter() - begin)
            counted.append(t)
    else:
        import torch  # only here: the sessrec side's peak RSS holds no torch

        import ubm_torch_peer as peer

        torch.manual_seed(spec["seed"])
        torch.set_num_threads(spec["threads"])
        model = peer.build(ubm)
        check = np.arange(min(64, len(so) - 1))
        result["max_difference_to_sessrec"] = peer.max_difference(
            model, core, *sliced(so, to, ids, check))
        views = []
        for step, rows in enumerate(batches):
            if spec["stage"] == 1:
                offsets, v = core.stage1_views(so, to, ids, rows, rows + 1, step=step)
                views.append((np.asarray(offsets), np.asarray(v)))
            else:
                views.append(tuple(np.asarray(a) for a in
                                   core.stage2_views(so, to, ids, rows, step=step)))
        # The first step's loss without dropout, by both (the copy's parity check on a loss).
        model.eval()
        with torch.no_grad():
            if spec["stage"] == 1:
                theirs = peer.stage1_loss(model, *views[0], batch, losses, MODEL["temperature"])
                ours = core.stage1_loss(*views[0], batch, training=False, backward=False)
            else:
                theirs = peer.stage2_loss(model, *views[0], batch, losses, MODEL["temperature"])
                ours = core.stage2_loss(*views[0], batch, training=False, backward=False)
        result["loss_difference_to_sessrec"] = abs(float(theirs) - float(ours[0]))
        optimizer = torch.optim.Adam(model.parameters(), lr=MODEL["lr"])
        model.train()
        limit = TOKENS["max_tokens_per_interaction"]
        for view in views:
            begin = time.perf_counter()
            optimizer.zero_grad()
            if spec["stage"] == 1:
                loss = peer.stage1_loss(model, *view, batch, losses, MODEL["temperature"])
            else:
                loss = peer.stage2_loss(model, *view, batch, losses, MODEL["temperature"])
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - begin)
            counted.append(int(np.minimum(np.diff(view[-2]), limit).sum()))
        result["torch_version"] = torch.__version__
        result["torch_threads"] = torch.get_num_threads()
    timed = slice(spec["warmup_steps"], None)
    result.update(seconds=float(sum(times[timed])), tokens=int(sum(counted[timed])),
                  tokens_per_s=sum(counted[timed]) / max(sum(times[timed]), 1e-9),
                  step_median_s=float(np.median(times[timed])), peak_mib=peak_mib(),
                  load1_end=os.getloadavg()[0])
    return result


def sliced(so, to, ids, rows):
    """The two-level CSR of sessions ``rows`` (consecutive from 0) of (so, to, ids)."""
    last = int(rows[-1]) + 1
    end_interaction = int(so[last])
    return so[:last + 1], to[:end_interaction + 1], ids[:int(to[end_interaction])]


def run_throughput(seed: int, threads: int, steps: dict) -> list[dict]:
    rows = []
    for stage in (1, 2):
        for framework in ("sessrec", "torch"):
            spec = dict(framework=framework, stage=stage, seed=seed, threads=threads, **steps)
            command = [sys.executable, str(Path(__file__).resolve()), "side", json.dumps(spec)]
            if SMOKE_FLAG in sys.argv:
                command.append(SMOKE_FLAG)
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows



# ------------------------------------------------------------------------------------- main
def smoke() -> None:
    """Tiny sizes: the script runs end to end, nothing is measured."""
    SYNTHETIC.update(num_items=150, num_sessions=600)
    TOKENS.update(max_interactions=8, max_tokens_per_interaction=16, vocab_size=300)
    MODEL.update(dim=16, layers=1, session_layers=1, ffn_dim=32, stage1_epochs=1,
                 stage2_epochs=1, stage1_batch_size=32, stage2_batch_size=16)
    FINETUNE.update(epochs=1)
    NIP.update(train_examples=300)
    SASREC.update(dim=16, ffn_dim=32, layers=1, epochs=1)
    THROUGHPUT.update(warmup_steps=1, steps=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--parts", nargs="+", default=["tasks", "throughput"],
                        choices=["tasks", "throughput"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--out", type=Path, default=Path("bench/ubm.jsonl"))
    parser.add_argument("--report", nargs="+", type=Path, help="print the tables of run files")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(SMOKE_FLAG, action="store_true",
                        help="tiny models and data, one seed, --out /tmp/ubm_bench_smoke.jsonl "
                             "unless given: checks the script end to end, measures nothing")
    if len(sys.argv) > 2 and sys.argv[1] == "side":
        if SMOKE_FLAG in sys.argv:
            smoke()
        print(json.dumps(side(json.loads(sys.argv[2]))))
        return
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    if args.smoke:
        smoke()
        if "--out" not in sys.argv:
            args.out = Path("/tmp/ubm_bench_smoke.jsonl")
        if "--seeds" not in sys.argv:
            args.seeds = [0]
    done = set()
    if args.out.exists():  # resume: skip what the file already holds
        for r in map(json.loads, filter(str.strip, args.out.read_text().splitlines())):
            done.add((r.get("dataset"), r.get("variant", r.get("kind")), r.get("seed")))
    if "throughput" in args.parts:
        for seed in args.seeds:
            if ("synthetic", "throughput", seed) in done:
                continue
            row = {"kind": "throughput", "dataset": "synthetic", "seed": seed,
                   "sides": run_throughput(seed, args.threads, THROUGHPUT),
                   "settings": settings("synthetic"), **facts(args.threads)}
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            for s in row["sides"]:
                print(f"throughput stage {s['stage']} {s['framework']} seed {seed}: "
                      f"{s['tokens_per_s']:,.0f} tokens/s, peak {s['peak_mib']:.0f} MiB",
                      flush=True)
    if "tasks" not in args.parts:
        return
    for dataset in args.datasets:
        for seed in args.seeds:
            todo = [v for v in args.variants if (dataset, v, seed) not in done and
                    (dataset == "synthetic" or not v.startswith("UBM_no_loss"))]
            if not todo:
                continue
            # The synthetic data depend on the seed; the real datasets' splits do not.
            ds, parts = load(dataset, args.ml100k, seed)
            for variant in todo:
                row = run_one(dataset, variant, seed, args.threads, ds, parts, args.progress)
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                summary = ", ".join(
                    f"{task} " + " ".join(f"{m} {v[m]:.4f}" for m in metrics if m in v)
                    for task, metrics in (("pip", ["auroc"]), ("rlp", ["mae"]),
                                          ("nip", ["Hits@20"]))
                    for t, v in row["tasks"].items() if t == task)
                print(f"{dataset} {variant} seed {seed}: {summary} ({row['seconds']:.0f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
