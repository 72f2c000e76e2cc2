"""Text-encoder training throughput: sessrec's TextEncoder against the same model in PyTorch
(issue 10), with results written into bench/RESULTS.md and bench/bench_text_encoder.json.

    .venv/bin/python bench/bench_text_encoder.py [--warmup 2] [--steps 8] [--check-steps 5]

A step: one packed forward of B anchors and B positives (2B synthetic token lists), InfoNCE on
cosine with temperature TAU and in-batch negatives on (first half, second half) of the pooled
outputs, backward, Adam. Token lists are fixed by (SEED, step): a [CLS] ID, then IDs uniform in
[2, VOCAB), lengths uniform in [MIN_TOKENS, MAX_TOKENS]; ID 0 pads torch's batches (padding_idx,
so it is never a real token). Both sides start from one set of weights: a torch model is built
with seed SEED and its state_dict written to HDF5, torch loads it back, sessrec imports it by name
(``parameter_groups.import_parameters`` with ``torch_transformer_names``). Dropout is 0 and the
optimizers match, so the per-step losses must agree: sessrec's Adam is lazy on the token
embedding (only the rows a batch uses move, global-step bias correction), which is torch's
SparseAdam on a sparse nn.Embedding; every other parameter takes torch.optim.Adam.

Every run is a fresh subprocess of this script (hidden ``side`` sub-command): sessrec at 1 and 2
OpenMP threads, torch under each setting of TORCH_SETTINGS. Each runs --warmup untimed steps and
--steps timed ones (losses of all of them are kept); tokens/s counts real tokens, not torch's
padding. torch's padded tensors are built before the clock starts. sessrec then repeats the timed
batches with _core.profile_report() on, for the share of each kernel family. A last subprocess
measures the memory of a MemoryQueue and of a symmetric ContrastiveObjective's two queues.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from run_itemcf_bench import facts_lines, machine_facts, peak_rss_mib, update_results
from run_neural_bench import load1, openblas_facts
from sessrec import _core
from sessrec.models import parameter_groups
from sessrec.models.text_encoder import BERT_MINI, DEFAULTS, make_text_encoder
from sessrec.models.text_encoder import torch_transformer_names

BENCH_DIR = Path(__file__).resolve().parent
WRITER = "bench/bench_text_encoder.py"
SEED = 0
VOCAB = 8000
CLS_ID = 1
MIN_TOKENS, MAX_TOKENS = 16, 64
PAIRS = 64  # B anchors + B positives per step
TAU = 0.05
LR = 1e-3
LN_EPS = 1e-12  # BERT's; torch's layer_norm_eps is set to match
SIZES = {
    "2 layers / 64": {k: DEFAULTS[k] for k in ("layers", "dim", "heads", "ffn_dim", "max_tokens")},
    "BERT-mini": BERT_MINI,
}
# torch's thread settings per thread count: (environment changes, torch.set_num_threads; None =
# torch's default). OpenBLAS reads OPENBLAS_NUM_THREADS when torch loads it.
TORCH_SETTINGS = {
    1: [({"OPENBLAS_NUM_THREADS": "1"}, 1)],
    2: [({"OPENBLAS_NUM_THREADS": "2"}, 2), ({"OPENBLAS_NUM_THREADS": "1"}, 2), ({}, None)],
}
# sessrec's settings: OpenMP's defaults, and at 2 threads also OMP_WAIT_POLICY=active (workers spin
# between parallel regions instead of sleeping; see the section in RESULTS.md for why). At 1
# thread also the opt-in bfloat16 products (_core.set_matmul_precision; read by the side process
# from SESSREC_BENCH_PRECISION). Its losses are compared with PyTorch's float32 ones like every
# row's; a row counts for the target only when they agree within LOSS_RTOL.
SESSREC_SETTINGS = {1: [{}, {"SESSREC_BENCH_PRECISION": "bfloat16"}],
                    2: [{}, {"OMP_WAIT_POLICY": "active"}]}
QUEUE_CAPACITY, QUEUE_DIM = 65536, 256
LOSS_RTOL = 1e-4
TARGET_SPEEDUP = 2.0


def batches(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(offsets [2B + 1], ids) of steps 0..count-1: anchors are lists 0..B-1, positives B..2B-1."""
    out = []
    for step in range(count):
        rng = np.random.default_rng([SEED, step])
        lengths = rng.integers(MIN_TOKENS, MAX_TOKENS + 1, size=2 * PAIRS)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = rng.integers(2, VOCAB, size=offsets[-1]).astype(np.int32)
        ids[offsets[:-1]] = CLS_ID
        out.append((offsets, ids))
    return out


def linear_and_attention_flops(size: dict, offsets: np.ndarray) -> dict[str, float]:
    """FLOPs of one training step (forward + backward = 3x forward) in the blocks' linear layers
    and in attention (q k^T and the weighted sum of v), over the real tokens only."""
    D, F, L = size["dim"], size["ffn_dim"], size["layers"]
    lengths = np.diff(offsets).astype(np.float64)
    return {
        "linear (GEMM)": 3 * L * 2 * lengths.sum() * (4 * D * D + 2 * D * F),
        "attention": 3 * L * 2 * 2 * (lengths**2).sum() * D,
    }


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------------------------------- sides
def torch_model(size: dict):
    """The PyTorch twin (token + learned position embedding, post-LN, nn.TransformerEncoder,
    [CLS] pooling); parameter names as ``torch_transformer_names`` expects."""
    import torch

    nn = torch.nn

    class TorchTextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            D = size["dim"]
            self.token_embedding = nn.Embedding(VOCAB, D, padding_idx=0, sparse=True)
            self.position_embedding = nn.Embedding(size["max_tokens"], D)
            self.embedding_ln = nn.LayerNorm(D, eps=LN_EPS)
            layer = nn.TransformerEncoderLayer(D, size["heads"], size["ffn_dim"], dropout=0.0,
                                               activation="gelu", batch_first=True,
                                               layer_norm_eps=LN_EPS)
            self.encoder = nn.TransformerEncoder(layer, size["layers"],
                                                 enable_nested_tensor=False)

        def forward(self, ids, valid):
            x = self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]]
            return self.encoder(self.embedding_ln(x), src_key_padding_mask=~valid)[:, 0]

    return TorchTextEncoder()


def side_weights(spec: dict) -> dict:
    """Build the torch model with seed SEED and write its state_dict to spec["path"]."""
    import h5py
    import torch

    torch.manual_seed(SEED)
    model = torch_model(SIZES[spec["size"]])
    with h5py.File(spec["path"], "w") as f:
        for name, value in model.state_dict().items():
            f[name] = value.numpy()
    return {}


def run_steps(step, prepared: list, warmup: int, tokens: list[int]) -> dict:
    """Run ``step(i, batch)`` (returning its loss and {phase: seconds}) on every batch; the
    timed figures cover the batches after ``warmup``."""
    losses, times, phases = [], [], {}
    for i, batch in enumerate(prepared):
        start = time.perf_counter()
        loss, phase_seconds = step(i, batch)
        elapsed = time.perf_counter() - start
        losses.append(loss)
        if i >= warmup:
            times.append(elapsed)
            for phase, seconds in phase_seconds.items():
                phases[phase] = phases.get(phase, 0.0) + seconds
    timed_tokens = sum(tokens[warmup:])
    return {"losses": losses, "seconds": sum(times), "step_median_s": float(np.median(times)),
            "tokens": timed_tokens, "tokens_per_s": timed_tokens / sum(times), "phases": phases}


def phase_clock():
    """A callable that returns the seconds since its previous call."""
    last = [time.perf_counter()]

    def lap() -> float:
        now = time.perf_counter()
        seconds, last[0] = now - last[0], now
        return seconds

    return lap


def sessrec_train(spec: dict, data: list) -> dict:
    _core.set_num_threads(spec["threads"])
    _core.set_matmul_precision(os.environ.get("SESSREC_BENCH_PRECISION", "float32"))
    size = SIZES[spec["size"]]
    encoder = make_text_encoder(VOCAB, **size, dropout=0.0, ln_eps=LN_EPS)
    names = torch_transformer_names(size["layers"])
    parameter_groups.import_parameters(encoder, spec["path"], names, strict=True)
    adam = _core.Adam(lr=LR)

    def step(i, batch):
        offsets, ids = batch
        lap = phase_clock()
        out = encoder.forward(offsets, ids, training=True, step=i)
        forward = lap()
        loss, _, da, dp = _core.info_nce(out[:PAIRS], out[PAIRS:], temperature=TAU)
        objective = lap()
        encoder.backward(np.concatenate([da, dp]))
        backward = lap()
        encoder.apply_gradients(adam)
        return float(loss), {"forward": forward, "InfoNCE": objective, "backward": backward,
                             "optimizer": lap()}

    tokens = [len(ids) for _, ids in data]
    result = run_steps(step, data, spec["warmup"], tokens)
    timed = data[spec["warmup"]:]
    _core.profile_enable(True)
    _core.profile_reset()
    profiled = run_steps(lambda i, b: step(len(data) + i, b), timed, 0, tokens[spec["warmup"]:])
    _core.profile_enable(False)
    result["profile_seconds"] = profiled["seconds"]
    result["profile"] = {family: seconds
                         for family, (seconds, _) in _core.profile_report().items()}
    result["flops"] = {}
    for offsets, _ in timed:
        for family, value in linear_and_attention_flops(size, offsets).items():
            result["flops"][family] = result["flops"].get(family, 0.0) + value
    result["threads"] = _core.get_num_threads()
    return result


def torch_train(spec: dict, data: list) -> dict:
    import h5py
    import torch
    import torch_peer

    torch_peer.configure(SEED, spec["torch_threads"])
    model = torch_model(SIZES[spec["size"]])
    with h5py.File(spec["path"], "r") as f:
        model.load_state_dict({name: torch.from_numpy(f[name][()]) for name in f})
    model.train()  # dropout is 0; train mode keeps torch off its inference fast path
    embedding = model.token_embedding.weight
    optimizers = [
        torch.optim.SparseAdam([embedding], lr=LR),
        torch.optim.Adam([p for p in model.parameters() if p is not embedding], lr=LR),
    ]
    labels = torch.arange(PAIRS)
    normalize = torch.nn.functional.normalize

    def padded(offsets, ids):
        lengths = np.diff(offsets)
        valid = np.arange(lengths.max()) < lengths[:, None]
        dense = np.zeros(valid.shape, dtype=np.int64)
        dense[valid] = ids
        return torch.from_numpy(dense), torch.from_numpy(valid)

    def step(i, batch):
        ids, valid = batch
        lap = phase_clock()
        out = model(ids, valid)
        forward = lap()
        logits = normalize(out[:PAIRS]) @ normalize(out[PAIRS:]).T / TAU
        loss = torch.nn.functional.cross_entropy(logits, labels)
        objective = lap()
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss.backward()
        backward = lap()
        for optimizer in optimizers:
            optimizer.step()
        return float(loss), {"forward": forward, "InfoNCE": objective, "backward": backward,
                             "optimizer": lap()}

    prepared = [padded(offsets, ids) for offsets, ids in data]
    result = run_steps(step, prepared, spec["warmup"], [len(ids) for _, ids in data])
    result["padded_tokens"] = sum(int(ids.numel()) for ids, _ in prepared[spec["warmup"]:])
    result.update(openblas_facts(), **torch_peer.torch_facts())
    return result


def side_train(spec: dict) -> dict:
    result = {"load1_start": load1()}
    data = batches(spec["warmup"] + spec["steps"])
    train = sessrec_train if spec["framework"] == "sessrec" else torch_train
    result.update(train(spec, data))
    result["load1_end"] = load1()
    result["rss_peak_mib"] = peak_rss_mib()
    return result


def side_queue(spec: dict) -> dict:
    """Resident memory of a full MemoryQueue and of a symmetric objective's two queues, and the
    time of one InfoNCE step of B pairs against full queues."""
    rng = np.random.default_rng(SEED)
    rows = rng.standard_normal((QUEUE_CAPACITY, QUEUE_DIM), dtype=np.float32)
    before = rss_mib()
    queue = _core.MemoryQueue(QUEUE_CAPACITY, QUEUE_DIM)
    queue.enqueue(rows)
    queue_mib = rss_mib() - before
    state_values = queue.get_state()[0]
    del queue
    config = _core.ContrastiveConfig(kind="infonce", temperature=TAU, symmetric=True,
                                     queue_capacity=QUEUE_CAPACITY)
    before = rss_mib()
    objective = _core.ContrastiveObjective(config, QUEUE_DIM)
    objective.enqueue(anchor_keys=rows, positive_keys=rows)
    objective_mib = rss_mib() - before
    a, p = (rng.standard_normal((PAIRS, QUEUE_DIM), dtype=np.float32) for _ in range(2))
    step_seconds = {}
    for threads in SESSREC_SETTINGS:
        _core.set_num_threads(threads)
        objective.forward_backward(a, p)
        start = time.perf_counter()
        objective.forward_backward(a, p)
        step_seconds[threads] = time.perf_counter() - start
    return {"queue_rss_mib": queue_mib, "state_values_bytes": int(state_values.nbytes),
            "objective_rss_mib": objective_mib, "objective_queues": sorted(objective.get_state()),
            "objective_step_s": step_seconds}


def run_side(spec: dict, env_changes: dict | None = None) -> dict:
    """One side in a fresh interpreter at normal priority; returns its JSON report."""
    env = {**os.environ, **(env_changes or {})}
    command = [sys.executable, str(Path(__file__).resolve()), "side", json.dumps(spec)]
    print(f"{time.strftime('%H:%M:%S')} {spec} {env_changes or ''}", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- report
def sessrec_setting_text(env_changes: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in env_changes.items()) or "OpenMP defaults"


def torch_setting_text(env_changes: dict, torch_threads) -> str:
    blas = env_changes.get("OPENBLAS_NUM_THREADS", "default")
    set_threads = "default" if torch_threads is None else torch_threads
    return f"OPENBLAS_NUM_THREADS={blas}, torch.set_num_threads({set_threads})"


def background_jobs() -> list[str]:
    """The other benchmarks running on the machine (nice value, command)."""
    ps = subprocess.run(["ps", "-eo", "pid,ni,args"], capture_output=True, text=True).stdout
    return [" ".join(line.split()[1:3] + [line.split()[3].rsplit("/", 1)[-1]])
            for line in ps.splitlines()
            if "run_alterrec_bench" in line and str(os.getpid()) not in line.split()[:1]]


def report(facts: dict, command: str, args, runs: dict, queue: dict) -> str:
    lines = [
        "## Text encoder training vs PyTorch (issue 10)", "", *facts_lines(facts, command),
        f"- CPU vector width: {facts['vector']}; threads as in the tables (sessrec: "
        "`_core.set_num_threads`; torch: `torch.set_num_threads` and OPENBLAS_NUM_THREADS)",
        f"- other jobs on the machine during the run: {'; '.join(facts['background']) or 'none'}"
        " (AlterRec benchmarks started by another engineer, niced); this benchmark ran at nice 0",
        f"- torch {facts['torch_version']}, {facts['torch_blas_info']}; OpenBLAS "
        f"{facts['openblas_library']}, core {facts['openblas_core']}",
        f"- workload: {2 * PAIRS} token lists per step ({PAIRS} anchors + {PAIRS} positives, one "
        f"packed forward), lengths uniform {MIN_TOKENS}..{MAX_TOKENS} (a [CLS] ID first), vocab "
        f"{VOCAB}; InfoNCE on cosine, temperature {TAU}, in-batch negatives; Adam lr {LR} (lazy "
        "on the token embedding: torch SparseAdam there); dropout 0, post-LN, GELU, LayerNorm eps "
        f"{LN_EPS:g}, [CLS] pooling; seed {SEED}; {args.warmup} untimed warm-up step(s), then "
        f"{args.steps} timed steps; tokens/s counts real tokens (torch also computes its "
        "padding: its batches are padded to the longest list)",
        "- same weights: torch model (seed 0) -> HDF5 -> torch and sessrec "
        "(`import_parameters` by `torch_transformer_names`); same batches in the same order",
        "",
        "| size | side | threads | setting | tokens/s | median step, s | peak RSS, MiB | "
        "load (1 min) before / after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (size, side, threads, setting), r in runs.items():
        lines.append(f"| {size} | {side} | {threads} | {setting} | {r['tokens_per_s']:,.0f} | "
                     f"{r['step_median_s']:.3f} | {r['rss_peak_mib']:.0f} | "
                     f"{r['load1_start']:.2f} / {r['load1_end']:.2f} |")
    lines += ["", "| size | threads | sessrec setting | sessrec tokens/s | best torch tokens/s at "
              "these threads (setting) | sessrec ÷ torch | target >= 2x | max relative loss "
              f"difference, first {args.check_steps} steps / all {args.warmup + args.steps} |",
              "|---|---|---|---|---|---|---|---|"]
    for (size, side, threads, setting), ours in runs.items():
        if side != "sessrec":
            continue
        theirs = {k: r for k, r in runs.items() if k[:3] == (size, "torch", threads)}
        key = max(theirs, key=lambda k: theirs[k]["tokens_per_s"])
        ratio = ours["tokens_per_s"] / theirs[key]["tokens_per_s"]
        first, every = loss_differences(ours["losses"], theirs[key]["losses"], args.check_steps)
        verdict = ("met" if ratio >= TARGET_SPEEDUP else "not met") if every <= LOSS_RTOL else (
            "not met (losses differ)")
        lines.append(f"| {size} | {threads} | {setting} | {ours['tokens_per_s']:,.0f} | "
                     f"{theirs[key]['tokens_per_s']:,.0f} ({key[3]}) | {ratio:.2f}x | "
                     f"{verdict} | {first:.1e} / {every:.1e} |")
    for size in args.sizes:
        best_torch = max((r["tokens_per_s"], k[3]) for k, r in runs.items()
                         if k[:2] == (size, "torch"))
        best_ours = max(r["tokens_per_s"] for k, r in runs.items()
                        if k[:2] == (size, "sessrec") and "bfloat16" not in k[3])
        lines.append(f"\n{size}: best float32 sessrec {best_ours:,.0f} tokens/s ÷ torch's best setting "
                     f"overall {best_torch[0]:,.0f} ({best_torch[1]}) = "
                     f"{best_ours / best_torch[0]:.2f}x.")
    lines += ["", "Losses per step (sessrec / torch at the same threads, fastest setting), "
              "first steps:", ""]
    for size in args.sizes:
        ours, theirs = runs[(size, "sessrec", 1, sessrec_setting_text({}))], runs[(size, "torch", 1,
                                                                  torch_setting_text(
                                                                      *TORCH_SETTINGS[1][0]))]
        pairs = ", ".join(f"{a:.5f}/{b:.5f}" for a, b in
                          zip(ours["losses"][:args.check_steps], theirs["losses"]))
        lines.append(f"- {size}, 1 thread: {pairs}")
    lines += phase_table(runs) + kernel_table(runs) + queue_lines(queue)
    return "\n".join(lines)


def loss_differences(ours: list, theirs: list, first: int) -> tuple[float, float]:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    relative = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-12)
    return float(relative[:first].max()), float(relative.max())


def phase_table(runs: dict) -> list[str]:
    lines = ["", "Step phases (share of the timed steps' wall time, measured around each call; "
             "InfoNCE includes torch's autograd bookkeeping of the loss):", "",
             "| size | side | threads | setting | forward | InfoNCE | backward | optimizer |",
             "|---|---|---|---|---|---|---|---|"]
    for (size, side, threads, setting), r in runs.items():
        shares = " | ".join(f"{100 * r['phases'][p] / r['seconds']:.1f}%"
                            for p in ("forward", "InfoNCE", "backward", "optimizer"))
        lines.append(f"| {size} | {side} | {threads} | {setting} | {shares} |")
    return lines


def kernel_table(runs: dict) -> list[str]:
    lines = ["", "sessrec's step by kernel family (_core.profile_report over a second pass of the "
             "timed batches with the profiler on; share of that pass's wall time; FLOPs of the "
             "real tokens counted analytically):", "",
             "| size | threads | setting | kernel family | share of step time | GFLOP/s |",
             "|---|---|---|---|---|---|"]
    for (size, side, threads, setting), r in runs.items():
        if side != "sessrec":
            continue
        total = r["profile_seconds"]
        for family, seconds in sorted(r["profile"].items(), key=lambda kv: -kv[1]):
            if seconds == 0:
                continue
            flops = r["flops"].get(family)
            rate = f"{flops / seconds / 1e9:.1f}" if flops else "—"
            lines.append(f"| {size} | {threads} | {setting} | {family} | {100 * seconds / total:.1f}% | "
                         f"{rate} |")
        outside = total - sum(r["profile"].values())
        lines.append(f"| {size} | {threads} | {setting} | outside the timed kernels (InfoNCE, L2 "
                     f"normalisation, pooling, Python) | {100 * outside / total:.1f}% | — |")
    return lines


def queue_lines(queue: dict) -> list[str]:
    formula = QUEUE_CAPACITY * QUEUE_DIM * 4
    return [
        "", f"Queue memory (capacity {QUEUE_CAPACITY:,}, dim {QUEUE_DIM}, float32; formula "
        f"capacity x dim x 4 B = {formula / 2**20:.1f} MiB per queue):", "",
        f"- one MemoryQueue, filled: resident memory +{queue['queue_rss_mib']:.1f} MiB; its "
        f"state's values array {queue['state_values_bytes'] / 2**20:.1f} MiB (a checkpoint "
        "copies it)",
        f"- a symmetric InfoNCE ContrastiveObjective (queues: "
        f"{', '.join(queue['objective_queues'])}), filled: +{queue['objective_rss_mib']:.1f} MiB "
        f"(formula {2 * formula / 2**20:.1f} MiB)",
        f"- one forward_backward of {PAIRS} pairs against both full queues: "
        + ", ".join(f"{seconds * 1e3:.0f} ms at {threads} thread(s)"
                    for threads, seconds in queue["objective_step_s"].items()),
    ]


# ------------------------------------------------------------------------------------ main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--check-steps", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "bench_text_encoder.json")
    if len(sys.argv) > 1 and sys.argv[1] == "side":
        spec = json.loads(sys.argv[2])
        kinds = {"weights": side_weights, "train": side_train, "queue": side_queue}
        print(json.dumps(kinds[spec["kind"]](spec)))
        return
    args = parser.parse_args()
    facts = machine_facts()
    facts["background"] = background_jobs()
    flags = Path("/proc/cpuinfo").read_text()
    facts["vector"] = "AVX-512 (avx512f)" if "avx512f" in flags else (
        "AVX2" if "avx2" in flags else "SSE")
    command = " ".join([".venv/bin/python bench/bench_text_encoder.py", *sys.argv[1:]])
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = str(Path(tmp) / f"{size.replace(' ', '_').replace('/', '')}.h5")
            base = {"size": size, "path": path, "warmup": args.warmup, "steps": args.steps}
            run_side({"kind": "weights", **base})
            for threads, settings in TORCH_SETTINGS.items():
                for env_changes in SESSREC_SETTINGS[threads]:
                    runs[(size, "sessrec", threads, sessrec_setting_text(env_changes))] = run_side(
                        {"kind": "train", "framework": "sessrec", "threads": threads, **base},
                        env_changes)
                for env_changes, torch_threads in settings:
                    runs[(size, "torch", threads, torch_setting_text(env_changes, torch_threads))] = (
                        run_side({"kind": "train", "framework": "torch",
                                  "torch_threads": torch_threads, **base}, env_changes))
    queue = run_side({"kind": "queue"})
    facts["load_end"] = Path("/proc/loadavg").read_text().split()[:3]
    torch_run = next(r for k, r in runs.items() if k[1] == "torch")
    facts.update({k: torch_run[k] for k in ("torch_version", "torch_blas_info",
                                            "openblas_library", "openblas_core")})
    text = report(facts, command, args, runs, queue)
    print(text)
    args.json.write_text(json.dumps({"facts": facts, "queue": queue, "runs": [
        {"size": k[0], "side": k[1], "threads": k[2], "setting": k[3], **r}
        for k, r in runs.items()]}, indent=1) + "\n")
    update_results(args.results, "text-encoder", text, WRITER)


if __name__ == "__main__":
    main()
