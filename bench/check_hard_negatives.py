"""Do mined hard negatives co-occur with the target more than random items do?

A coarse test of the "false negatives" hypothesis in bench/RESULTS.md ("AlterRec findings"): on
online_retail, a teacher (text-only SASRec, or an ID SASRec with LayerNorm'd embeddings, 4 epochs)
scores 2,000 validation examples; for the items at the teacher's ranks k1..k2-1 (AlterRec's
mining window on this catalogue) and for uniform random items, it prints the share that occur
together with the target in at least one training session.

    .venv/bin/python bench/check_hard_negatives.py
"""

import numpy as np
import scipy.sparse as sp

import sessrec as sr

K1, K2, SAMPLE, EPOCHS = 45, 908, 2000, 4


def main():
    sr.set_num_threads(2)
    train, valid, _ = sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1)
    n = train.num_items
    items, offsets = np.asarray(train.sessions.items), np.asarray(train.sessions.offsets)
    session = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    x = sp.csr_matrix((np.ones(len(items)), (session, items)), shape=(len(offsets) - 1, n))
    co = (x.T @ x).tocsr() > 0  # item pairs that share a training session
    ex = valid.examples()
    pick = np.random.default_rng(0).choice(len(ex), SAMPLE, replace=False)
    begin, end = np.asarray(ex.begin)[pick], np.asarray(ex.end)[pick]
    vitems = np.asarray(valid.sessions.items)
    target = vitems[end]
    rng = np.random.default_rng(1)

    def share(candidates):
        return np.mean([co[t, c].toarray().ravel().mean() for t, c in zip(target, candidates)])

    common = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_len=50, epochs=EPOCHS, seed=0)
    teachers = {"text-only": sr.models.TextOnly(**common),
                "ID (id_ln)": sr.models.SASRec(items="id_ln", **common)}
    for name, model in teachers.items():
        model.fit(train, progress=False)
        order = np.argsort(-model._core.score(vitems, begin, end), axis=1)
        hard = order[:, K1:K2]
        random = rng.integers(0, n, size=hard.shape)
        print(f"{name} teacher: ranks {K1}..{K2 - 1} {share(hard):.3f}, "
              f"uniform random {share(random):.3f}")


if __name__ == "__main__":
    main()
