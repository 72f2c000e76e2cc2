"""Benchmarks of sessrec's neural models (SASRec, GRU4Rec) against the PyTorch reference models of
tests/python/torch_reference.py, with results written into bench/RESULTS.md.

    .venv/bin/python bench/run_neural_bench.py throughput [--warmup 3] [--steps 30]
    .venv/bin/python bench/run_neural_bench.py quality [--seeds 0 1 2] [--epochs 20]
    .venv/bin/python bench/run_neural_bench.py inference [--catalogues 40000 1000000]

Both sides use the same hyperparameters (HP: dim 64, SASRec 2 layers, 2 heads, FFN 256, GELU,
post-LN; GRU4Rec hidden 64; max_len 50, dropout 0.2, batches of 256 training windows, Adam,
full-softmax cross-entropy) and 2 threads. Every side runs in its own subprocess of this script
(the hidden ``side`` sub-command), so the peak RSS (ru_maxrss) it reports is its own; torch is
imported only by the torch sides.

throughput
    Training throughput (target positions per second) on online_retail's training part: the
    same batches (sessrec's causal training windows in the order ``fit`` shuffles them, seed 0)
    from the same initial weights, --warmup untimed steps then --steps timed ones; Adam lr 1e-3
    for both models. torch's batches are built before the clock starts, so its time is model
    work only. torch runs under every thread setting of TORCH_SETTINGS, with OpenBLAS's core
    type as the environment sets it and as OpenBLAS detects it; the fastest is the ratio's
    denominator. For sessrec it also counts the FLOPs of a step analytically (the FLOPs sessrec
    executes: SASRec's GEMMs and causal attention pairs over the real positions only, as it
    packs them, GRU4Rec's GEMMs over all B x T padded positions, four M x N x D GEMMs in the
    full softmax) and breaks a step down by kernel family
    with _core.profile_report() (a second pass over the timed batches, profiler on). The
    machine's GEMM peak is the best float32 GFLOP/s of a large matmul with NumPy and torch.
quality
    Test Hits/NDCG@10/20 on online_retail (temporal split 0.8/0.1/0.1) for each seed: sessrec
    models trained with ``sr.models`` (``fit`` with early stopping on the validation part), and
    the torch models trained by torch_peer.fit, which follows ``fit`` (same windows, batches,
    per-epoch shuffling, Adam with the same lr, same epochs, patience and metric, best weights
    kept) from the same initial weights; all evaluated by ``sr.evaluate``. POP and ItemCF
    (deterministic) run once.
inference
    Full-ranking throughput (``m.rank`` examples per second, on one example per sampled test
    session) and single-session latency of ``m.recommend(k=20)`` and ``m.score`` (sessions of
    10 items) on synthetic catalogues. The models keep their initial weights (``fit`` with 0
    epochs builds them): the work of scoring does not depend on the weights.

Each sub-command prints a markdown report and replaces its block between markers in --results;
text outside the markers is kept.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sessrec as sr
from run_itemcf_bench import (
    facts_lines,
    last_item_sample,
    machine_facts,
    peak_rss_mib,
    timed,
    update_results,
)
from sessrec import _core

BENCH_DIR = Path(__file__).resolve().parent
WRITER = "bench/run_neural_bench.py"
DATASET = "online_retail"
THREADS = 2
HP = {
    "dim": 64,
    "layers": 2,
    "heads": 2,
    "ffn_dim": 256,
    "hidden": 64,
    "max_len": 50,
    "dropout": 0.2,
    "batch_size": 256,
    "patience": 3,
    "metric": "NDCG@20",
}
ARCHITECTURE = {"sasrec": ("layers", "heads", "ffn_dim"), "gru4rec": ("hidden",)}
MODEL_NAMES = {"sasrec": "SASRec", "gru4rec": "GRU4Rec"}
QUALITY_LR = {"sasrec": 1e-3, "gru4rec": 1e-2}  # GRU4Rec needs ~1e-2 to leave the POP plateau
THROUGHPUT_LR = 1e-3
THROUGHPUT_SEED = 0
# torch's thread settings: (environment changes, torch.set_num_threads argument; None = default)
TORCH_SETTINGS = {
    "blas1-torch2": ({"OPENBLAS_NUM_THREADS": "1"}, 2),
    "default": ({}, None),
    "blas2-torch2": ({"OPENBLAS_NUM_THREADS": "2"}, 2),
}
TORCH_SETTING_TEXT = {
    "blas1-torch2": "OPENBLAS_NUM_THREADS=1, torch.set_num_threads(2)",
    "default": "no thread setting (torch's and OpenBLAS's defaults)",
    "blas2-torch2": "OPENBLAS_NUM_THREADS=2, torch.set_num_threads(2)",
}
# OpenBLAS's core type: as this environment sets it, or unset so that OpenBLAS detects the CPU.
ENV_CORETYPE = os.environ.get("OPENBLAS_CORETYPE")
CORETYPES = {"detected": None} if ENV_CORETYPE is None else {"env": ENV_CORETYPE, "detected": None}
# The torch setting the quality run trains with: the fastest in the throughput run of 2026-11-23
# 19:12 UTC, or within 3% of it (the training procedure, hence the quality, does not depend on it).
QUALITY_TORCH_SETTING = {
    "sasrec": ("blas2-torch2", "detected"),
    "gru4rec": ("blas1-torch2", "detected"),
}
GEMM_REPEATS = 10
TARGET_SPEEDUP = 2.0
TARGET_GAP = 0.03
TEST_KS = (10, 20)
METRICS = [f"{metric}@{k}" for k in TEST_KS for metric in ("Hits", "NDCG")]


# ----------------------------------------------------------------------------------- helpers
def load_split():
    return sr.datasets.load(DATASET).split("time", valid=0.1, test=0.1)


def sessrec_model(name: str, seed: int, lr: float, epochs: int) -> sr.models.NeuralRecommender:
    architecture = {key: HP[key] for key in ARCHITECTURE[name]}
    model_class = {"sasrec": sr.models.SASRec, "gru4rec": sr.models.GRU4Rec}[name]
    return model_class(
        dim=HP["dim"],
        max_len=HP["max_len"],
        dropout=HP["dropout"],
        batch_size=HP["batch_size"],
        patience=HP["patience"],
        metric=HP["metric"],
        lr=lr,
        epochs=epochs,
        seed=seed,
        threads=THREADS,
        **architecture,
    )


def initial_parameters(name: str, seed: int, num_items: int) -> dict:
    """The weights ``fit`` starts from: a fresh core built by the sessrec model itself."""
    return sessrec_model(name, seed, THROUGHPUT_LR, 0)._build_core(num_items).get_parameters()


def training_windows(train):
    return _core.make_training_windows(train.sessions, HP["max_len"], False)


def epoch_batches(num_windows: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The batches of one epoch, as ``NeuralRecommender.fit`` draws them."""
    order = np.random.default_rng([seed, epoch]).permutation(num_windows)
    size = HP["batch_size"]
    return [order[first : first + size] for first in range(0, num_windows, size)]


def first_batches(num_windows: int, seed: int, count: int) -> list[np.ndarray]:
    """The first ``count`` batches ``fit`` would train on, running into later epochs if needed."""
    batches, epoch = [], 0
    while len(batches) < count:
        batches += epoch_batches(num_windows, seed, epoch)
        epoch += 1
    return batches[:count]


def step_flops(name: str, lengths: np.ndarray, num_items: int) -> dict[str, float]:
    """FLOPs sessrec executes in one training step on windows with ``lengths`` input positions,
    by kernel family (the names of _core.profile_report). A GEMM of m x k by k x n is 2mkn; a
    linear layer costs 3 GEMMs (forward, input gradient, weight gradient); the full softmax 4
    (logits, logits recomputed for the gradient, dE, dH); attention 12 x dim per visited
    (query, key) pair (QK and AV forward, dV, dP, dQ and dK backward). SASRec runs on the real
    positions only (packed sequences), GRU4Rec on every padded position of the batch."""
    lengths = lengths.astype(np.float64)
    D = HP["dim"]
    flops = {"softmax loss": 4 * 2 * lengths.sum() * num_items * D}
    if name == "sasrec":
        F, rows = HP["ffn_dim"], lengths.sum()
        per_row = D * 3 * D + D * D + 2 * D * F
        flops["linear (GEMM)"] = HP["layers"] * 3 * 2 * rows * per_row
        pairs = np.sum(lengths * (lengths + 1) / 2)  # query t sees keys 0..t
        flops["attention"] = HP["layers"] * 12 * pairs * D
    else:
        H, rows = HP["hidden"], len(lengths) * lengths.max()
        flops["linear (GEMM)"] = 3 * 2 * rows * (D * 3 * H + H * D)
        flops["gru recurrence"] = 3 * 2 * rows * H * 3 * H
    return flops


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def timed_steps(step, batches) -> dict:
    """Wall time of ``step(batch)`` for each batch; its return values are (loss, targets)."""
    times, losses, targets = [], [], 0
    for batch in batches:
        start = time.perf_counter()
        loss, n = step(batch)
        times.append(time.perf_counter() - start)
        losses.append(loss)
        targets += n
    return {
        "seconds": sum(times),
        "step_median_s": statistics.median(times),
        "targets": targets,
        "targets_per_s": targets / sum(times),
        "mean_loss": float(np.mean(losses)),
    }


def openblas_facts() -> dict:
    """The OpenBLAS library mapped into this process (NumPy's and torch's BLAS here), the core
    type its kernels were chosen for and its thread count."""
    maps = Path("/proc/self/maps").read_text().splitlines()
    library = next((line.split()[-1] for line in maps if "libopenblas" in line), None)
    if library is None:
        return {"openblas_library": None}
    openblas = ctypes.CDLL(library)
    openblas.openblas_get_corename.restype = ctypes.c_char_p
    return {
        "openblas_library": library,
        "openblas_core": openblas.openblas_get_corename().decode(),
        "openblas_threads": openblas.openblas_get_num_threads(),
    }


def test_metrics(table) -> dict:
    return {metric: float(table.loc[("overall", "all"), metric]) for metric in METRICS}


# ------------------------------------------------------------------------------------- sides
def side_train_steps(spec: dict) -> dict:
    """Throughput of training steps, sessrec or torch, on the benchmark's batches."""
    result = {"load1_start": load1()}
    train, _, _ = load_split()
    begin, end = training_windows(train)
    batches = first_batches(len(begin), THROUGHPUT_SEED, spec["warmup"] + spec["steps"])
    timed_batches = batches[spec["warmup"] :]
    name = spec["model"]
    if spec["framework"] == "sessrec":
        sr.set_num_threads(THREADS)
        core = sessrec_model(name, THROUGHPUT_SEED, THROUGHPUT_LR, 0)._build_core(train.num_items)
        optimizer = _core.Adam(lr=THROUGHPUT_LR)

        def step(idx):
            loss, n, _ = core.train_step(train.sessions, begin[idx], end[idx], False, optimizer)
            return loss, n

        timed_steps(step, batches[: spec["warmup"]])
        result.update(timed_steps(step, timed_batches))
        _core.profile_enable(True)
        _core.profile_reset()
        result["profile_seconds"] = timed_steps(step, timed_batches)["seconds"]
        _core.profile_enable(False)
        result["profile"] = {
            family: seconds for family, (seconds, _) in _core.profile_report().items()
        }
        result["flops"] = {}
        for idx in timed_batches:
            lengths = end[idx] - begin[idx] - 1
            for family, value in step_flops(name, lengths, train.num_items).items():
                result["flops"][family] = result["flops"].get(family, 0.0) + value
        result["threads"] = sr.get_num_threads()
    else:
        import torch  # only here, so the sessrec sides' peak RSS holds no torch
        import torch_peer

        torch_peer.configure(THROUGHPUT_SEED, spec["torch_threads"])
        weights = initial_parameters(name, THROUGHPUT_SEED, train.num_items)
        model = torch_peer.build_model(name, train.num_items, HP, weights)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=THROUGHPUT_LR)
        prepared = [torch_peer.batch_tensors(train, begin[idx], end[idx]) for idx in batches]

        def step(batch):
            inputs, targets = batch
            loss = torch_peer.train_step(model, optimizer, inputs, targets)
            return loss, int((targets >= 0).sum())

        timed_steps(step, prepared[: spec["warmup"]])
        result.update(timed_steps(step, prepared[spec["warmup"] :]))
        result.update(openblas_facts(), **torch_peer.torch_facts())
    result["load1_end"] = load1()
    result["rss_peak_mib"] = peak_rss_mib()
    return result


def side_gemm(spec: dict) -> dict:
    """Best float32 GFLOP/s of an n x n by n x n matmul, NumPy or torch."""
    n = spec["size"]
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    if spec["library"] == "torch":
        import torch

        a, b = torch.from_numpy(a), torch.from_numpy(b)
    times, _ = timed(lambda: a @ b, spec["repeats"])
    return {"gflops": 2 * n**3 / min(times["times"]) / 1e9, **openblas_facts()}


def side_quality(spec: dict) -> dict:
    """Train one model (sessrec or torch) with one seed; test metrics and the training log."""
    train, valid, test = load_split()
    name, seed, epochs = spec["model"], spec["seed"], spec["epochs"]
    sr.set_num_threads(THREADS)
    start = time.perf_counter()
    if spec["framework"] == "sessrec":
        model = sessrec_model(name, seed, QUALITY_LR[name], epochs)
        model.fit(train, valid, progress=False)
        history = model.history_.to_dict("records")
    else:
        import torch_peer  # only here, so the sessrec sides' peak RSS holds no torch

        torch_peer.configure(seed, spec["torch_threads"])
        weights = initial_parameters(name, seed, train.num_items)
        model = torch_peer.TorchRecommender(
            torch_peer.build_model(name, train.num_items, HP, weights), train.catalog, HP["max_len"]
        )
        windows = training_windows(train)
        history = torch_peer.fit(
            model,
            train,
            valid,
            windows,
            lambda epoch: epoch_batches(len(windows[0]), seed, epoch),
            {**HP, "epochs": epochs},
            QUALITY_LR[name],
        )
    fit_seconds = time.perf_counter() - start
    table = sr.evaluate(model, test, k=TEST_KS, progress=False)
    return {
        "test": test_metrics(table),
        "history": history,
        "fit_seconds": fit_seconds,
        "rss_peak_mib": peak_rss_mib(),
    }


def side_baselines(spec: dict) -> dict:
    """POP and ItemCF (default parameters): deterministic, so one run each."""
    train, _, test = load_split()
    sr.set_num_threads(THREADS)
    return {
        name: test_metrics(sr.evaluate(model.fit(train), test, k=TEST_KS, progress=False))
        for name, model in (("POP", sr.models.POP()), ("ItemCF", sr.models.ItemCF()))
    }


def side_inference(spec: dict) -> dict:
    """m.rank throughput and single-session latency on a synthetic catalogue."""
    name, num_items = spec["model"], spec["num_items"]
    ds = sr.datasets.synthetic(
        num_items=num_items, num_sessions=spec["sessions"], seed=0, with_queries=False
    )
    train, _, test = ds.split("time", valid=0.1, test=0.1)
    sr.set_num_threads(THREADS)
    model = sessrec_model(name, 0, QUALITY_LR[name], 0).fit(train, progress=False)
    sample = last_item_sample(test, spec["sample"])
    rank, _ = timed(lambda: model.rank(sample, progress=False), spec["repeats"])
    rng = np.random.default_rng(0)
    sessions = rng.integers(0, num_items, size=(spec["calls"], spec["session_length"]))
    id_sessions = [[train.catalog.id(int(i)) for i in s] for s in sessions]
    latency = {}
    for call_name, call, inputs in (
        ("recommend", lambda s: model.recommend(s, k=20), id_sessions),
        ("score", lambda s: model.score([s]), sessions),
    ):
        each = itertools.cycle(inputs)  # a different session per call (warm-up included)
        times, _ = timed(lambda: call(next(each)), spec["calls"])
        latency[call_name] = {
            "median_ms": 1e3 * times["median"],
            "p95_ms": 1e3 * float(np.percentile(times["times"], 95)),
        }
    return {
        "items": ds.num_items,
        "examples": len(sample.examples()),
        "rank_examples_per_s": len(sample.examples()) / rank["median"],
        "latency": latency,
        "threads": sr.get_num_threads(),
        "rss_peak_mib": peak_rss_mib(),
    }


SIDES = {
    "train_steps": side_train_steps,
    "gemm": side_gemm,
    "quality": side_quality,
    "baselines": side_baselines,
    "inference": side_inference,
}


def run_side(kind: str, spec: dict, torch_setting: tuple[str, str] | None = None) -> dict:
    """Run one side in a fresh interpreter (its own peak RSS); returns its JSON report.
    ``torch_setting`` (TORCH_SETTINGS key, CORETYPES key) sets the side's environment."""
    env = dict(os.environ)
    if torch_setting is not None:
        threads, core = torch_setting
        env.update(TORCH_SETTINGS[threads][0])
        env.pop("OPENBLAS_CORETYPE", None)
        if CORETYPES[core] is not None:
            env["OPENBLAS_CORETYPE"] = CORETYPES[core]
        spec = {**spec, "torch_threads": TORCH_SETTINGS[threads][1]}
    command = [sys.executable, str(Path(__file__).resolve()), "side", kind, json.dumps(spec)]
    print(f"{time.strftime('%H:%M:%S')} {kind} {spec} {torch_setting or ''}", file=sys.stderr)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=env)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  -> {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


# ---------------------------------------------------------------------------------- reports
def header(title: str, facts: dict, command: str) -> list[str]:
    lines = [f"## {title}", "", *facts_lines(facts, command)]
    if facts["core_built_end"] != facts["core_built"]:
        lines.append(
            f"- sessrec._core was rebuilt during the run (new build {facts['core_built_end']}): "
            "sides started after that loaded the new build"
        )
    return lines


def mean_std(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {std:.4f}"


def setting_text(threads: str, core: str) -> str:
    core_text = "detected" if CORETYPES[core] is None else f"OPENBLAS_CORETYPE={CORETYPES[core]}"
    return f"{TORCH_SETTING_TEXT[threads]}; OpenBLAS core {core_text}"


def hyperparameter_line(lr: str) -> str:
    return (
        f"- hyperparameters (both sides): dim {HP['dim']}; SASRec {HP['layers']} layers, "
        f"{HP['heads']} heads, FFN {HP['ffn_dim']} (GELU, post-LN); GRU4Rec hidden "
        f"{HP['hidden']}; max_len {HP['max_len']}, dropout {HP['dropout']}, batches of "
        f"{HP['batch_size']} training windows, Adam ({lr}), full-softmax cross-entropy; "
        f"{THREADS} threads"
    )


def throughput_report(facts, command, args, runs, gemm, windows) -> str:
    peak = max(g["gflops"] for g in gemm.values())
    any_torch = next(r for key, r in runs.items() if key[1] != "sessrec")
    lines = header("Neural training throughput: sessrec vs PyTorch (online_retail)", facts, command)
    lines += [
        f"- data: the training part of online_retail (temporal split 0.8/0.1/0.1), {windows:,} "
        f"causal training windows of <= {HP['max_len'] + 1} events; the batches `fit` draws "
        f"for seed {THROUGHPUT_SEED}; {args.warmup} untimed warm-up steps, then {args.steps} "
        "timed steps; both sides start from the same weights (the sessrec core's initial "
        "parameters)",
        hyperparameter_line(f"lr {THROUGHPUT_LR:g} for both models"),
        "- throughput = target positions of the timed steps / their wall time; torch's batch "
        "tensors are built before timing (sessrec's time includes its batching); peak RSS is "
        "ru_maxrss of each side's own process, data and interpreter included",
        f"- torch {any_torch['torch_version']}, built with {any_torch['torch_blas_info']}: its "
        f"GEMMs call libblas.so.3, which is OpenBLAS here; the torch process maps "
        f"{any_torch['openblas_library']}, and torch's matmul speed follows OPENBLAS_CORETYPE "
        "(GEMM table below), so torch's matrix products run in OpenBLAS. torch's default "
        f"intra-op thread count on this machine is "
        f"{runs[(args.models[0], 'default', 'detected')]['torch_threads']}",
        (f"- this environment sets OPENBLAS_CORETYPE={ENV_CORETYPE}; unset, OpenBLAS detects "
         f"{gemm[('numpy', 'detected')].get('openblas_core', 'its core')} kernels; torch ran "
         "under both"
         if ENV_CORETYPE is not None else
         "- OPENBLAS_CORETYPE is not set here: OpenBLAS detects "
         f"{gemm[('numpy', 'detected')].get('openblas_core', 'its core')} kernels"),
        "",
        "| model | side | setting | OpenBLAS core, threads; torch threads | targets/s | "
        "median step, s | "
        "mean loss (timed steps) | peak RSS, MiB | load (1 min) before / after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in runs.items():
        name, side = key[0], "sessrec" if key[1] == "sessrec" else "torch"
        setting = f"{r['threads']} OpenMP threads" if side == "sessrec" else setting_text(*key[1:])
        blas = (
            "—"
            if side == "sessrec"
            else f"{r['openblas_core']}, {r['openblas_threads']}; {r['torch_threads']}"
        )
        lines.append(
            f"| {MODEL_NAMES[name]} | {side} | {setting} | {blas} | {r['targets_per_s']:,.0f} | "
            f"{r['step_median_s']:.3f} | {r['mean_loss']:.4f} | {r['rss_peak_mib']:.0f} | "
            f"{r['load1_start']:.2f} / {r['load1_end']:.2f} |"
        )
    lines += [
        "",
        f"| model | sessrec targets/s | best torch targets/s (setting) | sessrec ÷ best torch | "
        f"target >= {TARGET_SPEEDUP:g}x |",
        "|---|---|---|---|---|",
    ]
    for name in args.models:
        ours = runs[(name, "sessrec")]["targets_per_s"]
        best_key = max(
            (key for key in runs if key[0] == name and key[1] != "sessrec"),
            key=lambda key: runs[key]["targets_per_s"],
        )
        theirs = runs[best_key]["targets_per_s"]
        ratio = ours / theirs
        lines.append(
            f"| {MODEL_NAMES[name]} | {ours:,.0f} | {theirs:,.0f} ({setting_text(*best_key[1:])}) "
            f"| {ratio:.2f}x | {'met' if ratio >= TARGET_SPEEDUP else 'MISSED'} |"
        )
    lines += [
        "",
        f"Machine GEMM peak: float32 {args.gemm_size} x {args.gemm_size} matmul, best of "
        f"{GEMM_REPEATS} after "
        "a warm-up, OpenBLAS's default threads:",
        "",
        "| library | OpenBLAS core, threads | GFLOP/s |",
        "|---|---|---|",
    ]
    for (library, core), g in gemm.items():
        blas = f"{g['openblas_core']}, {g['openblas_threads']}" if "openblas_core" in g else core
        lines.append(f"| {library} | {blas} | {g['gflops']:.1f} |")
    lines += [
        "",
        f"sessrec's training step by kernel family (FLOPs counted analytically, see "
        f"`step_flops`; time from _core.profile_report over a second pass of the {args.steps} "
        f"timed batches; % of peak against the best GEMM figure, {peak:.0f} GFLOP/s):",
        "",
        "| model | kernel family | GFLOP per step | share of step time | GFLOP/s | % of peak |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.models:
        r = runs[(name, "sessrec")]
        wall = r["profile_seconds"]
        for family, seconds in sorted(r["profile"].items(), key=lambda item: -item[1]):
            if seconds == 0:
                continue
            flops = r["flops"].get(family)
            if flops:
                rate = flops / seconds / 1e9
                counted = f"{flops / args.steps / 1e9:.2f} | {seconds / wall:.1%} | {rate:.1f} | "
                counted += f"{rate / peak:.0%}"
            else:
                counted = f"— | {seconds / wall:.1%} | — | —"
            lines.append(f"| {MODEL_NAMES[name]} | {family} | {counted} |")
        other = wall - sum(r["profile"].values())
        total = sum(r["flops"].values())
        lines += [
            f"| {MODEL_NAMES[name]} | outside the timed kernels | — | {other / wall:.1%} | — | — |",
            f"| {MODEL_NAMES[name]} | **whole step** (timed pass, profiler off) | "
            f"{total / args.steps / 1e9:.2f} | 100% | {total / r['seconds'] / 1e9:.1f} | "
            f"{total / r['seconds'] / 1e9 / peak:.0%} |",
        ]
    return "\n".join(lines)


def quality_report(facts, command, args, runs, baselines) -> str:
    lines = header("Neural model quality: sessrec vs PyTorch (online_retail)", facts, command)
    settings = ", ".join(
        f"{MODEL_NAMES[name]}: {setting_text(*QUALITY_TORCH_SETTING[name])}" for name in args.models
    )
    lines += [
        f"- temporal split 0.8/0.1/0.1; test metrics over all test examples, full ranking, "
        f"pessimistic ties; mean ± std (ddof 1) over seeds {', '.join(map(str, args.seeds))}",
        hyperparameter_line(
            ", ".join(f"{MODEL_NAMES[name]} lr {QUALITY_LR[name]:g}" for name in args.models)
        ),
        f"- training: up to {args.epochs} epochs; after each epoch {HP['metric']} on the "
        f"validation part; stop after more than {HP['patience']} epochs without improvement; "
        "the best epoch's weights are kept. sessrec: `sr.models` `fit`; torch: "
        "bench/torch_peer.py `fit`, the same windows, batches and per-epoch shuffling "
        "(np.random.default_rng([seed, epoch])), torch.optim.Adam with the same lr, from the "
        "sessrec core's initial weights for that seed; dropout masks differ (each side's own "
        "RNG). Both evaluated with `sr.evaluate` (torch through a Recommender wrapper)",
        f"- torch thread settings (speed only): {settings}",
        "- POP and ItemCF (default parameters) are deterministic: one run",
        "",
        "| model | side | Hits@10 | NDCG@10 | Hits@20 | NDCG@20 | epochs trained (per seed) | "
        "best epoch (per seed) | training s/epoch | peak RSS, MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, metrics in baselines.items():
        values = " | ".join(f"{metrics[m]:.4f}" for m in METRICS)
        lines.append(f"| {name} | sessrec | {values} | — | — | — | — |")
    valid_column = f"valid_{HP['metric']}"
    for name in args.models:
        for side in ("sessrec", "torch"):
            seeds = [runs[(name, side, seed)] for seed in args.seeds]
            values = " | ".join(mean_std([r["test"][m] for r in seeds]) for m in METRICS)
            epochs = ", ".join(str(len(r["history"])) for r in seeds)
            best = ", ".join(
                str(int(np.argmax([h[valid_column] for h in r["history"]])) + 1) for r in seeds
            )
            per_epoch = np.mean([h["seconds"] for r in seeds for h in r["history"]])
            rss = max(r["rss_peak_mib"] for r in seeds)
            lines.append(
                f"| {MODEL_NAMES[name]} | {side} | {values} | {epochs} | {best} | "
                f"{per_epoch:.1f} | {rss:.0f} |"
            )
    lines += [
        "",
        f"| model | seed | test NDCG@20 sessrec / torch | best valid {HP['metric']} sessrec / "
        "torch |",
        "|---|---|---|---|",
    ]
    for name in args.models:
        for seed in args.seeds:
            ours, theirs = runs[(name, "sessrec", seed)], runs[(name, "torch", seed)]
            best = [max(h[valid_column] for h in r["history"]) for r in (ours, theirs)]
            lines.append(
                f"| {MODEL_NAMES[name]} | {seed} | {ours['test']['NDCG@20']:.4f} / "
                f"{theirs['test']['NDCG@20']:.4f} | {best[0]:.4f} / {best[1]:.4f} |"
            )
    lines += [
        "",
        f"| model | mean test NDCG@20 sessrec | torch | relative gap (sessrec - torch) / torch | "
        f"within {TARGET_GAP:.0%} |",
        "|---|---|---|---|---|",
    ]
    for name in args.models:
        ours, theirs = (
            np.mean([runs[(name, side, seed)]["test"]["NDCG@20"] for seed in args.seeds])
            for side in ("sessrec", "torch")
        )
        gap = (ours - theirs) / theirs
        lines.append(
            f"| {MODEL_NAMES[name]} | {ours:.4f} | {theirs:.4f} | {gap:+.1%} | "
            f"{'yes' if abs(gap) <= TARGET_GAP else 'NO'} |"
        )
    return "\n".join(lines)


def inference_report(facts, command, args, runs) -> str:
    lines = header("Neural inference: full ranking and single-session latency", facts, command)
    lines += [
        f"- sr.datasets.synthetic(num_items=..., num_sessions={args.sessions:_}, seed=0, "
        "with_queries=False), temporal split 0.8/0.1/0.1; models with the hyperparameters of the "
        "blocks above, built by `fit(train, epochs=0)`: initial weights, no training (the cost of "
        "scoring does not depend on the weights)",
        f"- m.rank: one example (last item as target, history <= {HP['max_len']} items) per "
        f"test session of a fixed random sample of {args.sample:,}; median of {args.repeats} runs "
        f"after a warm-up. Latency: {args.calls} calls after one warm-up, each on a different "
        f"session of {args.session_length} random items: m.recommend(item IDs, k=20) (scores, "
        "top-k, DataFrame with item IDs) and m.score([item indices]) (the score row only)",
        f"- {THREADS} threads; peak RSS is the whole process (data, model, Adam state included)",
        "",
        "| model | items | m.rank examples/s | recommend k=20 median / p95, ms | "
        "score median / p95, ms | peak RSS, MiB |",
        "|---|---|---|---|---|---|",
    ]
    for (name, _), r in runs.items():
        rec, score = r["latency"]["recommend"], r["latency"]["score"]
        lines.append(
            f"| {MODEL_NAMES[name]} | {r['items']:,} | {r['rank_examples_per_s']:,.0f} | "
            f"{rec['median_ms']:.2f} / {rec['p95_ms']:.2f} | {score['median_ms']:.2f} / "
            f"{score['p95_ms']:.2f} | {r['rss_peak_mib']:.0f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------- commands
def run_throughput(args):
    runs = {}
    for name in args.models:
        spec = {"model": name, "warmup": args.warmup, "steps": args.steps}
        runs[(name, "sessrec")] = run_side("train_steps", {**spec, "framework": "sessrec"})
        for threads in TORCH_SETTINGS:
            for core in CORETYPES:
                runs[(name, threads, core)] = run_side(
                    "train_steps", {**spec, "framework": "torch"}, (threads, core)
                )
    gemm = {
        (library, core): run_side(
            "gemm",
            {"library": library, "size": args.gemm_size, "repeats": GEMM_REPEATS},
            ("default", core),
        )
        for library in ("numpy", "torch")
        for core in CORETYPES
    }
    windows = len(training_windows(load_split()[0])[0])
    return {"runs": runs, "gemm": gemm, "windows": windows}


def run_quality(args):
    runs = {}
    for seed in args.seeds:
        for name in args.models:
            spec = {"model": name, "seed": seed, "epochs": args.epochs}
            runs[(name, "sessrec", seed)] = run_side("quality", {**spec, "framework": "sessrec"})
            runs[(name, "torch", seed)] = run_side(
                "quality", {**spec, "framework": "torch"}, QUALITY_TORCH_SETTING[name]
            )
    return {"runs": runs, "baselines": run_side("baselines", {})}


def run_inference(args):
    runs = {}
    for num_items in args.catalogues:
        for name in args.models:
            spec = {
                "model": name,
                "num_items": num_items,
                "sessions": args.sessions,
                "sample": args.sample,
                "repeats": args.repeats,
                "calls": args.calls,
                "session_length": args.session_length,
            }
            runs[(name, num_items)] = run_side("inference", spec)
    return {"runs": runs}


# sub-command: (its results block, the function that runs its sides, the one that reports)
COMMANDS = {
    "throughput": ("neural-throughput", run_throughput, throughput_report),
    "quality": ("neural-quality", run_quality, quality_report),
    "inference": ("neural-inference", run_inference, inference_report),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    throughput = commands.add_parser("throughput", help="training throughput vs torch")
    throughput.add_argument("--warmup", type=int, default=3, help="untimed steps")
    throughput.add_argument("--steps", type=int, default=30, help="timed steps")
    throughput.add_argument("--gemm-size", type=int, default=4096)
    quality = commands.add_parser("quality", help="test metrics vs torch, several seeds")
    quality.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    quality.add_argument("--epochs", type=int, default=20, help="at most, for every model")
    inference = commands.add_parser("inference", help="m.rank throughput, recommend latency")
    inference.add_argument("--catalogues", type=int, nargs="+", default=[40_000, 1_000_000])
    inference.add_argument("--sessions", type=int, default=100_000)
    inference.add_argument("--sample", type=int, default=2_000, help="test sessions ranked")
    inference.add_argument("--repeats", type=int, default=3, help="timed m.rank runs")
    inference.add_argument("--calls", type=int, default=200, help="timed calls per latency")
    inference.add_argument("--session-length", type=int, default=10)
    for command in (throughput, quality, inference):
        command.add_argument(
            "--models", nargs="+", choices=list(MODEL_NAMES), default=list(MODEL_NAMES)
        )
        command.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    side = commands.add_parser("side", help=argparse.SUPPRESS)
    side.add_argument("kind", choices=list(SIDES))
    side.add_argument("spec", type=json.loads)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.command == "side":
        print(json.dumps(SIDES[args.kind](args.spec)))
        return
    facts = machine_facts()
    command = " ".join([".venv/bin/python bench/run_neural_bench.py", *sys.argv[1:]])
    block, run, report = COMMANDS[args.command]
    data = run(args)
    facts["load_end"] = Path("/proc/loadavg").read_text().split()[:3]
    facts["core_built_end"] = machine_facts()["core_built"]
    text = report(facts, command, args, **data)
    print(text + "\n")
    update_results(args.results, block, text, WRITER)
    print(f"results written to {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
