"""Benchmark of sessrec's ItemCF and full-ranking evaluation against a plain Python/NumPy
reference (bench/python_itemcf.py), with results written into bench/RESULTS.md.

    .venv/bin/python bench/run_itemcf_bench.py [--threads N] [--scale]

On online_retail (temporal split, valid 0.1, test 0.1) it measures:

* ItemCF build time: sessrec with N threads, sessrec with 1 thread, and the reference (a Python
  loop over sessions: single-threaded whatever N is). Each figure is the median of --repeats
  timed runs after one untimed warm-up run.
* Agreement of the fitted neighbour lists: the same top-n sets, except items tied within RTOL
  with the last kept neighbour, and similarities within RTOL (relative). Disagreement fails the
  run.
* Full-ranking evaluation throughput (test examples per second): sessrec ``m.rank(test)`` at its
  default block size and at --small-block-mib, against the reference scoring a dense NumPy
  matrix and ranking with pessimistic ties (all test examples, or a fixed random subset of
  --ref-examples). sessrec's ranks must equal the reference's, or lie within the ranks the
  reference allows when scores within RTOL of the target's may fall either side.
* Peak RSS (ru_maxrss) of each side, each run in its own subprocess of this script (--side).

With --scale it also runs, in another subprocess, an Amazon-M2-scale synthetic dataset (1.4M
items, 3.6M sessions, no query text): generation time, a single cold ItemCF build (time and peak
RSS, against the targets of 10 minutes and 12 GiB) and m.rank throughput on a fixed random sample
of --scale-sample test sessions (last item as target).

Results are printed as markdown and replace the matching block between markers in --results;
text outside the markers is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sessrec as sr
from python_itemcf import PythonItemCF, history_examples, pessimistic_ranks, rank_bounds

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATASET = "online_retail"
TOP_N = 100
MAX_HISTORY = 50
RTOL = 1e-5
REFERENCE_BLOCK_ROWS = 512  # float64 rows scored at once by the reference (15 MB on online_retail)
SEED = 0
BUILD_SPEEDUP_TARGET = 30.0
SCALE_BUILD_TARGET_S = 600.0
SCALE_RSS_TARGET_GIB = 12.0
SCALE_MEAN_SESSION_LENGTH = 4.5


# ----------------------------------------------------------------------------------- helpers
def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, repeats: int, warmup: bool = True):
    """Wall times of ``repeats`` calls of ``fn`` (after an untimed one if ``warmup``), the system
    CPU time of the last call, and its result."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        result = None  # frees the previous run's result, so peaks hold one run at a time
        sys_before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        sys_seconds = resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys_before
    return {"times": times, "median": statistics.median(times), "sys_last": sys_seconds}, result


def load_split():
    train, _, test = sr.datasets.load(DATASET).split(
        "time", valid=0.1, test=0.1, max_history=MAX_HISTORY
    )
    return train, test


def reference_subset(num_examples: int, size: int) -> np.ndarray:
    """Indices of the examples the reference ranks: all when ``size`` is 0 or too large, else a
    fixed random sample."""
    if size <= 0 or size >= num_examples:
        return np.arange(num_examples)
    return np.sort(np.random.default_rng(SEED).choice(num_examples, size, replace=False))


def over_reference_blocks(model, items, begin, end, rank_fn) -> np.ndarray:
    """``rank_fn(scores, targets)`` over blocks of REFERENCE_BLOCK_ROWS examples."""
    parts = []
    for first in range(0, len(end), REFERENCE_BLOCK_ROWS):
        rows = slice(first, first + REFERENCE_BLOCK_ROWS)
        parts.append(rank_fn(model.score(items, begin[rows], end[rows]), items[end[rows]]))
    return np.concatenate(parts, axis=-1)


def last_item_sample(test, size: int):
    """A SessionSet of ``size`` random test sessions with at least two events, each giving one
    example (its last item as target)."""
    lengths = np.diff(np.asarray(test.sessions.offsets))
    eligible = np.flatnonzero(lengths >= 2)
    rng = np.random.default_rng(SEED)
    chosen = np.sort(rng.choice(eligible, min(size, len(eligible)), replace=False))
    return sr.SessionSet(
        sessions=test.sessions.subset(chosen.astype(np.int64)),
        catalog=test.catalog,
        role="test",
        train_counts=test.train_counts,
        targets="last",
        max_history=MAX_HISTORY,
        dataset_name=test.dataset_name,
    )


# ------------------------------------------------------------------------------------- sides
def run_sessrec_side(args) -> dict:
    """sessrec ItemCF: build, rank every test example; arrays to args.out for the checks."""
    train, test = load_split()
    rss_data = peak_rss_mib()
    sr.set_num_threads(args.threads)
    fit, model = timed(lambda: sr.models.ItemCF(top_n=TOP_N).fit(train), args.repeats)
    rank, ranks = timed(lambda: model.rank(test, progress=False), args.repeats)
    small_block, small_block_ranks = timed(
        lambda: model.rank(test, progress=False, block_bytes=args.small_block_mib << 20),
        args.repeats,
    )
    if not np.array_equal(ranks, small_block_ranks):
        raise AssertionError("sessrec m.rank gives different ranks for different block sizes")
    examples = test.examples()
    np.savez(
        args.out,
        offsets=np.asarray(model._core.offsets),
        indices=np.asarray(model._core.indices),
        similarities=np.asarray(model._core.similarities),
        counts=np.asarray(model._core.counts),
        ranks=ranks,
        begin=np.asarray(examples.begin),
        end=np.asarray(examples.end),
    )
    return {
        "threads": sr.get_num_threads(),
        "fit": fit,
        "rank": rank,
        "rank_small_block": small_block,
        "examples": len(ranks),
        "rss_data_mib": rss_data,
        "rss_peak_mib": peak_rss_mib(),
    }


def run_python_side(args) -> dict:
    """The Python/NumPy reference: build, rank the chosen test examples; arrays to args.out."""
    train, test = load_split()
    rss_data = peak_rss_mib()
    offsets, items = np.asarray(train.sessions.offsets), np.asarray(train.sessions.items)
    fit, model = timed(
        lambda: PythonItemCF(train.num_items, TOP_N).fit(offsets, items), args.repeats
    )
    test_items = np.asarray(test.sessions.items)
    all_begin, all_end = history_examples(np.asarray(test.sessions.offsets), MAX_HISTORY)
    chosen = reference_subset(len(all_end), args.ref_examples)
    begin, end = all_begin[chosen], all_end[chosen]
    rank, ranks = timed(
        lambda: over_reference_blocks(model, test_items, begin, end, pessimistic_ranks),
        args.repeats,
    )
    rss_peak = peak_rss_mib()  # before the untimed tolerance pass below
    bounds = over_reference_blocks(
        model, test_items, begin, end, lambda s, t: rank_bounds(s, t, RTOL)
    )
    np.savez(
        args.out,
        offsets=model.offsets,
        indices=model.indices,
        similarities=model.similarities,
        counts=model.counts,
        ranks=ranks,
        best_rank=bounds[0],
        worst_rank=bounds[1],
        chosen=chosen,
        all_begin=all_begin,
        all_end=all_end,
    )
    return {
        "fit": fit,
        "rank": rank,
        "examples": len(ranks),
        "all_examples": len(all_end),
        "rss_data_mib": rss_data,
        "rss_peak_mib": rss_peak,
    }


def run_scale_side(args) -> dict:
    """Amazon-M2-scale synthetic data: generation, one cold ItemCF build, m.rank on a sample."""
    start = time.perf_counter()
    ds = sr.datasets.synthetic(
        num_items=args.scale_items,
        num_sessions=args.scale_sessions,
        seed=SEED,
        with_queries=False,
        mean_session_length=SCALE_MEAN_SESSION_LENGTH,
    )
    generation_s = time.perf_counter() - start
    train, _, test = ds.split("time", valid=0.1, test=0.1, max_history=MAX_HISTORY)
    rss_data = peak_rss_mib()
    sr.set_num_threads(args.threads)
    fit, model = timed(lambda: sr.models.ItemCF(top_n=TOP_N).fit(train), 1, warmup=False)
    rss_fit = peak_rss_mib()
    sample = last_item_sample(test, args.scale_sample)
    rank, ranks = timed(lambda: model.rank(sample, progress=False), args.repeats)
    small_block, small_block_ranks = timed(
        lambda: model.rank(sample, progress=False, block_bytes=args.small_block_mib << 20),
        args.repeats,
    )
    if not np.array_equal(ranks, small_block_ranks):
        raise AssertionError("sessrec m.rank gives different ranks for different block sizes")
    return {
        "threads": sr.get_num_threads(),
        "items": ds.num_items,
        "sessions": ds.sessions.num_sessions,
        "events": ds.sessions.num_events,
        "train_sessions": train.sessions.num_sessions,
        "train_events": train.sessions.num_events,
        "generation_s": generation_s,
        "fit": fit,
        "neighbour_pairs": int(np.asarray(model._core.offsets)[-1]),
        "rank": rank,
        "rank_small_block": small_block,
        "examples": len(ranks),
        "hits_at_20": float(np.mean(ranks <= 20)),
        "rss_data_mib": rss_data,
        "rss_fit_mib": rss_fit,
        "rss_peak_mib": peak_rss_mib(),
    }


SIDES = {"sessrec": run_sessrec_side, "python": run_python_side, "scale": run_scale_side}


def run_side(side: str, args, threads: int, out: Path | None = None) -> dict:
    """Run one side in a fresh interpreter so its peak RSS is its own; returns its JSON report."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--side",
        side,
        "--threads",
        str(threads),
        "--repeats",
        str(args.repeats),
        "--ref-examples",
        str(args.ref_examples),
        "--small-block-mib",
        str(args.small_block_mib),
        "--scale-items",
        str(args.scale_items),
        "--scale-sessions",
        str(args.scale_sessions),
        "--scale-sample",
        str(args.scale_sample),
    ]
    if out is not None:
        command += ["--out", str(out)]
    print(f"running {side} side ({threads} threads)...", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ checks
def compare_neighbours(ours, reference) -> dict:
    """Check sessrec's neighbour lists against the reference's; raises on disagreement.

    Per item the two lists must have the same length; an item may be in one list only when its
    similarity is within RTOL of the other list's last kept similarity (a near-tie at the cut);
    similarities of items in both lists must agree within RTOL."""
    if not np.array_equal(ours["counts"], reference["counts"]):
        raise AssertionError("item counts differ between sessrec and the reference")
    if not np.array_equal(ours["offsets"], reference["offsets"]):
        x = int(np.flatnonzero(np.diff(ours["offsets"]) != np.diff(reference["offsets"]))[0])
        raise AssertionError(
            f"item {x}: sessrec keeps {ours['offsets'][x + 1] - ours['offsets'][x]} neighbours, "
            f"the reference {reference['offsets'][x + 1] - reference['offsets'][x]}"
        )
    offsets = ours["offsets"]
    same = ours["indices"] == reference["indices"]
    ours_sims = ours["similarities"].astype(np.float64)
    ref_sims = reference["similarities"]
    abs_diff = list(np.abs(ours_sims - ref_sims)[same])
    rel_diff = list((np.abs(ours_sims - ref_sims) / ref_sims)[same])
    cut_swaps = 0
    rows = np.unique(np.searchsorted(offsets, np.flatnonzero(~same), side="right") - 1)
    for x in rows:
        lo, hi = offsets[x], offsets[x + 1]
        ours_row = dict(zip(ours["indices"][lo:hi].tolist(), ours_sims[lo:hi].tolist()))
        ref_row = dict(zip(reference["indices"][lo:hi].tolist(), ref_sims[lo:hi].tolist()))
        for y in ours_row.keys() & ref_row.keys():
            abs_diff.append(abs(ours_row[y] - ref_row[y]))
            rel_diff.append(abs(ours_row[y] - ref_row[y]) / ref_row[y])
        for only, other in ((ours_row, ref_sims[hi - 1]), (ref_row, ours_sims[hi - 1])):
            for y in only.keys() - (ours_row.keys() & ref_row.keys()):
                if abs(only[y] - other) > RTOL * other:
                    raise AssertionError(
                        f"item {x}: neighbour {y} (similarity {only[y]:.9g}) is kept by only one "
                        f"side and is not tied with the other side's cut ({other:.9g})"
                    )
                cut_swaps += 1
    result = {
        "items": len(offsets) - 1,
        "pairs": int(offsets[-1]),
        "same_position_share": float(same.mean()),
        "rows_differing": len(rows),
        "cut_swaps": cut_swaps,
        "max_abs_diff": float(max(abs_diff)),
        "max_rel_diff": float(max(rel_diff)),
    }
    if result["max_rel_diff"] > RTOL:
        raise AssertionError(f"similarities disagree beyond rtol {RTOL}: {result}")
    return result


def compare_ranks(ours, reference) -> dict:
    """Check sessrec's ranks of the reference's examples; raises on disagreement."""
    if not (
        np.array_equal(ours["begin"], reference["all_begin"])
        and np.array_equal(ours["end"], reference["all_end"])
    ):
        raise AssertionError("sessrec and the reference draw different test examples")
    chosen = reference["chosen"]
    ranks, ref_ranks = ours["ranks"][chosen], reference["ranks"]
    outside = (ranks < reference["best_rank"]) | (ranks > reference["worst_rank"])
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise AssertionError(
            f"example {int(chosen[i])} (history items[{ours['begin'][chosen[i]]}:"
            f"{ours['end'][chosen[i]]}]): sessrec rank {ranks[i]}, reference rank "
            f"{ref_ranks[i]} (allowed {reference['best_rank'][i]}..{reference['worst_rank'][i]}); "
            f"{int(outside.sum())} examples out of bounds"
        )
    return {
        "examples": len(chosen),
        "identical": int((ranks == ref_ranks).sum()),
        "max_abs_diff": float(np.abs(ranks - ref_ranks).max()),
        "hits_at_20": float(np.mean(ranks <= 20)),
        "ref_hits_at_20": float(np.mean(ref_ranks <= 20)),
    }


# ----------------------------------------------------------------------------------- report
def machine_facts() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    git = ["git", "-C", str(REPO_DIR)]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(git + ["status", "--porcelain"], capture_output=True, text=True)
    core = Path(sr._core.__file__)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": memory_kib / 2**20,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "git": head.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else ""),
        "core_built": datetime.fromtimestamp(core.stat().st_mtime, timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "load": Path("/proc/loadavg").read_text().split()[:3],
    }


def spread(t: dict) -> str:
    return f"{t['median']:.3f} ({min(t['times']):.3f}–{max(t['times']):.3f})"


def rate(t: dict, examples: int) -> str:
    return f"{examples / t['median']:,.0f}"


def facts_lines(facts: dict, command: str) -> list[str]:
    return [
        f"Command: `{command}`",
        "",
        f"- date: {facts['date']}; git {facts['git']}; sessrec._core built {facts['core_built']}",
        f"- machine: nproc {facts['nproc']}, {facts['cpu']}, {facts['memory_gib']:.1f} GiB RAM; "
        f"Python {facts['python']}, NumPy {facts['numpy']}",
        f"- load average (1/5/15 min) at start {' '.join(facts['load'])}, at end "
        f"{' '.join(facts['load_end'])}; the machine is shared, so timings carry that noise",
    ]


def online_retail_report(facts, command, args, runs, neighbours, ranks) -> str:
    many, one, ref = runs["sessrec"], runs["sessrec_1"], runs["python"]
    n = many["threads"]
    n_ex, n_ref = many["examples"], ref["examples"]
    subset = (
        "all test examples"
        if n_ref == ref["all_examples"]
        else f"a fixed random subset of {n_ref} of the {ref['all_examples']} test examples"
    )
    build_many = ref["fit"]["median"] / many["fit"]["median"]
    build_one = ref["fit"]["median"] / one["fit"]["median"]
    ref_rate = n_ref / ref["rank"]["median"]

    def speedup(side, key):
        return f"{side['examples'] / side[key]['median'] / ref_rate:.1f}x"

    small = f"m.rank(test, block_bytes={args.small_block_mib} MiB)"
    lines = [
        f"## ItemCF on online_retail (temporal split 0.8/0.1/0.1, top_n={TOP_N})",
        "",
        *facts_lines(facts, command),
        f"- times: median of {args.repeats} timed runs after one untimed warm-up (min–max in "
        "brackets); peak RSS is ru_maxrss of each side's own process, data loading included "
        "(the 'after loading' row is the same process before any ItemCF work)",
        f"- the reference is bench/python_itemcf.py: Python loops and NumPy, single-threaded "
        f"whatever the thread count; it ranks {subset}, sessrec ranks all {n_ex}",
        "",
        f"| measure | sessrec, {n} threads | sessrec, 1 thread | Python/NumPy reference | "
        f"reference ÷ sessrec ({n} thr / 1 thr) |",
        "|---|---|---|---|---|",
        f"| ItemCF build, s | {spread(many['fit'])} | {spread(one['fit'])} | "
        f"{spread(ref['fit'])} | {build_many:.1f}x / {build_one:.1f}x |",
        f"| full ranking, examples/s: m.rank(test) (default 32 MiB blocks) | "
        f"{rate(many['rank'], n_ex)} | {rate(one['rank'], n_ex)} | {ref_rate:,.0f} | "
        f"{speedup(many, 'rank')} / {speedup(one, 'rank')} (sessrec ÷ reference) |",
        f"| full ranking, examples/s: {small} | {rate(many['rank_small_block'], n_ex)} | "
        f"{rate(one['rank_small_block'], n_ex)} | — | {speedup(many, 'rank_small_block')} / "
        f"{speedup(one, 'rank_small_block')} (sessrec ÷ reference) |",
        f"| system CPU time of one m.rank(test) at default / small blocks, s | "
        f"{many['rank']['sys_last']:.2f} / {many['rank_small_block']['sys_last']:.2f} | "
        f"{one['rank']['sys_last']:.2f} / {one['rank_small_block']['sys_last']:.2f} | — | |",
        f"| peak RSS, MiB | {many['rss_peak_mib']:.0f} | {one['rss_peak_mib']:.0f} | "
        f"{ref['rss_peak_mib']:.0f} | |",
        f"| RSS after loading the data, MiB | {many['rss_data_mib']:.0f} | "
        f"{one['rss_data_mib']:.0f} | {ref['rss_data_mib']:.0f} | |",
        "",
        f"Build target (at least {BUILD_SPEEDUP_TARGET:.0f}x faster than the reference): "
        f"{'met' if build_many >= BUILD_SPEEDUP_TARGET else 'MISSED'} with {n} threads "
        f"({build_many:.1f}x), {'met' if build_one >= BUILD_SPEEDUP_TARGET else 'MISSED'} with "
        f"1 thread ({build_one:.1f}x).",
        "",
        f"Agreement (rtol {RTOL:g}):",
        "",
        f"- neighbour lists: {neighbours['items']} items, {neighbours['pairs']} (item, neighbour) "
        f"pairs; {neighbours['same_position_share']:.6%} identical position by position; "
        f"{neighbours['rows_differing']} lists differ in the order of near-tied "
        f"neighbours or at the top-n cut ({neighbours['cut_swaps']} neighbours kept by one "
        f"side only, each tied within rtol with the other side's cut); max |Δsim| "
        f"{neighbours['max_abs_diff']:.3g}, max relative {neighbours['max_rel_diff']:.3g} "
        "(sessrec stores float32)",
        f"- ranks: {ranks['identical']} of {ranks['examples']} identical, max |Δrank| "
        f"{ranks['max_abs_diff']:g}; HR@20 {ranks['hits_at_20']:.4f} (sessrec) vs "
        f"{ranks['ref_hits_at_20']:.4f} (reference) on those examples",
    ]
    return "\n".join(lines)


def scale_report(facts, command, args, scale) -> str:
    fit_s = scale["fit"]["median"]
    rss_gib = scale["rss_fit_mib"] / 1024
    status = {True: "met", False: "MISSED"}
    small = f"block_bytes={args.small_block_mib} MiB"
    lines = [
        "## ItemCF at Amazon-M2 scale (synthetic)",
        "",
        *facts_lines(facts, command),
        f"- sr.datasets.synthetic(num_items={args.scale_items:_}, "
        f"num_sessions={args.scale_sessions:_}, seed={SEED}, with_queries=False, "
        f"mean_session_length={SCALE_MEAN_SESSION_LENGTH}): {scale['items']:,} items, "
        f"{scale['sessions']:,} sessions, {scale['events']:,} events; temporal split 0.8/0.1/0.1 "
        f"leaves {scale['train_sessions']:,} training sessions ({scale['train_events']:,} events)",
        f"- {scale['threads']} threads; the build is one cold run; m.rank figures are the median "
        f"of {args.repeats} runs after a warm-up, on {scale['examples']} random test sessions "
        "(last item as target); peak RSS is the whole process, data included",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| dataset generation, s | {scale['generation_s']:.1f} | |",
        f"| ItemCF build, s | {fit_s:.1f} | < {SCALE_BUILD_TARGET_S:.0f}: "
        f"{status[fit_s < SCALE_BUILD_TARGET_S]} |",
        f"| peak RSS after the build, GiB | {rss_gib:.2f} | < {SCALE_RSS_TARGET_GIB:.0f}: "
        f"{status[rss_gib < SCALE_RSS_TARGET_GIB]} |",
        f"| RSS after generation and split, GiB | {scale['rss_data_mib'] / 1024:.2f} | |",
        f"| peak RSS at the end (after ranking), GiB | {scale['rss_peak_mib'] / 1024:.2f} | |",
        f"| (item, neighbour) pairs kept | {scale['neighbour_pairs']:,} | |",
        f"| full ranking, examples/s: m.rank (default 32 MiB blocks) | "
        f"{rate(scale['rank'], scale['examples'])} ({spread(scale['rank'])} s) | |",
        f"| full ranking, examples/s: m.rank({small}) | "
        f"{rate(scale['rank_small_block'], scale['examples'])} "
        f"({spread(scale['rank_small_block'])} s) | |",
        f"| system CPU time of one m.rank at default / small blocks, s | "
        f"{scale['rank']['sys_last']:.2f} / {scale['rank_small_block']['sys_last']:.2f} | |",
        f"| HR@20 on the sample | {scale['hits_at_20']:.4f} | |",
    ]
    return "\n".join(lines)


def update_results(
    path: Path, block: str, text: str, writer: str = "bench/run_itemcf_bench.py"
) -> None:
    """Replace the block between this block's markers in ``path`` (appending it if absent)."""
    begin = f"<!-- {block}: begin (written by {writer}) -->"
    end = f"<!-- {block}: end -->"
    current = path.read_text() if path.exists() else "# sessrec benchmark results\n"
    fresh = f"{begin}\n{text}\n{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + fresh + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + fresh + "\n"
    path.write_text(current)


def main_run(args) -> None:
    facts = machine_facts()
    command = " ".join([".venv/bin/python bench/run_itemcf_bench.py", *sys.argv[1:]])
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = {side: Path(tmp) / f"{side}.npz" for side in ("sessrec", "sessrec_1", "python")}
        runs = {
            "sessrec": run_side("sessrec", args, args.threads, out["sessrec"]),
            "sessrec_1": run_side("sessrec", args, 1, out["sessrec_1"]),
            "python": run_side("python", args, args.threads, out["python"]),
        }
        arrays = {side: dict(np.load(path)) for side, path in out.items()}
    neighbours = compare_neighbours(arrays["sessrec"], arrays["python"])
    ranks = compare_ranks(arrays["sessrec"], arrays["python"])
    for key in ("indices", "similarities", "ranks"):
        if not np.array_equal(arrays["sessrec"][key], arrays["sessrec_1"][key]):
            raise AssertionError(f"sessrec {key} depend on the thread count")
    scale = run_side("scale", args, args.threads) if args.scale else None
    facts["load_end"] = Path("/proc/loadavg").read_text().split()[:3]
    reports["itemcf-online-retail"] = online_retail_report(
        facts, command, args, runs, neighbours, ranks
    )
    if scale is not None:
        reports["itemcf-scale"] = scale_report(facts, command, args, scale)
    for block, text in reports.items():
        print(text + "\n")
        update_results(args.results, block, text)
    print(f"results written to {args.results}", file=sys.stderr)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--scale", action="store_true", help="also run the Amazon-M2-scale part")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure")
    parser.add_argument(
        "--ref-examples", type=int, default=0, help="test examples the reference ranks (0 = all)"
    )
    parser.add_argument(
        "--small-block-mib", type=int, default=16, help="block size of the second m.rank figure"
    )
    parser.add_argument("--scale-items", type=int, default=1_400_000)
    parser.add_argument("--scale-sessions", type=int, default=3_600_000)
    parser.add_argument("--scale-sample", type=int, default=2_000)
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.side is None:
        main_run(arguments)
    else:
        print(json.dumps(SIDES[arguments.side](arguments)))
