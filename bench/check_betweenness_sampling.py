"""Sampled against exact betweenness on online_retail's ItemCF co-occurrence graph: the figures
behind ``betweenness_sample`` (sessrec.rerank.graph). Prints the graph's size, the seconds of
the exact value and of each sample size, and the Spearman correlation of each estimate with
the exact value (over items with an edge).

    .venv/bin/python bench/check_betweenness_sampling.py [--samples 50 200 800]
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import sessrec as sr
from sessrec import _core
from sessrec.rerank.graph import graph_edges, sampled_betweenness


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", nargs="+", type=int, default=[50, 200, 800])
    args = parser.parse_args()
    import igraph

    train, _, _ = sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1,
                                                          targets="last")
    state = sr.models.ItemCF().fit(train)._state()
    graph = _core.CooccurrenceGraph.from_neighbours(
        train.num_items, state["offsets"], state["indices"], state["similarities"])
    x, y, w = graph_edges(graph)
    g = igraph.Graph(n=graph.num_items, edges=np.column_stack([x, y]).tolist(), directed=False)
    lengths = (w.max() / w).tolist()
    connected = np.asarray(g.degree()) > 0
    print(f"igraph {igraph.__version__}; {int(connected.sum())} items with edges, {len(w)} edges")
    start = time.perf_counter()
    exact = np.asarray(g.betweenness(directed=False, weights=lengths))
    rows = [dict(sources="all (exact)", seconds=time.perf_counter() - start, spearman=1.0)]
    for sample in args.samples:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            estimate = sampled_betweenness(g, lengths, sample, seed=0)
        seconds = time.perf_counter() - start
        rho = pd.Series(estimate[connected]).corr(pd.Series(exact[connected]), method="spearman")
        rows.append(dict(sources=sample, seconds=seconds, spearman=rho))
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
