"""ArcCon from scratch: does the margin stall a freshly initialised text encoder? One epoch of
TextContrastive / LangEmb on online_retail (time split, last-item targets) with InfoNCE, ArcCon,
and ArcCon with the margin ramped in (``margin_warmup``); prints the epoch's loss and the
validation NDCG@20 (early-stopping metric; the test part is not read).

    .venv/bin/python bench/check_arccon_margin.py            # every case
    .venv/bin/python bench/check_arccon_margin.py "LangEmb w/o DCL"

The LangEmb rows use single-direction ArcCon with in-batch negatives only (TABLE2_VARIANTS'
"w/o DCL") or LangEmb's defaults, as named.
"""

import sys
import time

import sessrec as sr

BASE = dict(dim=32, layers=2, heads=2, ffn_dim=64, max_tokens=48, max_len=5, epochs=1,
            batch_size=256, lr=1e-3)
WO_DCL = dict(decoupled=None, queue_capacity=0, momentum=0.0)
CASES = {
    "TextContrastive InfoNCE, last layer": (sr.models.TextContrastive, dict(threads=2)),
    "TextContrastive InfoNCE, first layer": (sr.models.TextContrastive,
                                             dict(pool_layer=0, threads=2)),
    "TextContrastive ArcCon, last layer": (sr.models.TextContrastive,
                                           dict(objective="arccon", threads=2)),
    "LangEmb w/o DCL, fixed margin": (sr.models.LangEmb,
                                      dict(WO_DCL, margin_warmup=0, threads=2)),
    "LangEmb w/o DCL, margin_warmup 300": (sr.models.LangEmb,
                                           dict(WO_DCL, margin_warmup=300, threads=1)),
    "LangEmb defaults, margin_warmup 300": (sr.models.LangEmb,
                                            dict(margin_warmup=300, threads=1)),
    "LangEmb w/o DCL, InfoNCE": (sr.models.LangEmb,
                                 dict(WO_DCL, objective="infonce", threads=1)),
    "LangEmb defaults, InfoNCE": (sr.models.LangEmb, dict(objective="infonce", threads=1)),
    "LangEmb defaults, margin 0.05 rad, margin_warmup 300": (
        sr.models.LangEmb, dict(margin=0.05, margin_warmup=300, threads=1)),
    "LangEmb defaults, margin 0.1 rad, margin_warmup 300": (
        sr.models.LangEmb, dict(margin=0.1, margin_warmup=300, threads=1)),
    "LangEmb defaults, margin 0.05 rad, fixed": (
        sr.models.LangEmb, dict(margin=0.05, margin_warmup=0, threads=1)),
    "LangEmb defaults, momentum 0.99, InfoNCE": (
        sr.models.LangEmb, dict(objective="infonce", momentum=0.99, threads=1)),
}


def main():
    train, valid, _ = sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1,
                                                              targets="last")
    for name in sys.argv[1:] or CASES:
        cls, options = CASES[name]
        start = time.time()
        model = cls(**BASE, **options).fit(train, valid, progress=False)
        loss, ndcg = model.history_[["loss", "valid_NDCG@20"]].values[-1]
        print(f"{name}: loss {loss:.3f}, valid NDCG@20 {ndcg:.4f} "
              f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
