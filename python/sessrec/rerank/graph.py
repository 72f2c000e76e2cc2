"""Centralities of the ItemCF co-occurrence graph, once per item, with python3-igraph.

The paper (Zhang et al. 2023, §2.2.3): "This study constructs a co-occurrence graph based on
itemcf's co-occurrence relationship matrix. Each item is a node in the graph, and the weights
between items serve as edge weights. [...] Our analysis includes node importance measures like
PageRank, centrality features including betweenness centrality, Katz centrality, and degree
centrality". The graph is :class:`sessrec._core.CooccurrenceGraph`: undirected, the edge
{x, y} weighing sim(x, y) + sim(y, x).

* PageRank: igraph's, over the weighted undirected graph (damping ``pagerank_damping``).
* Degree centrality: the number of neighbours over ``num_items - 1`` (as networkx's
  ``degree_centrality``).
* Betweenness: over edge *lengths* ``max_weight / weight`` (a strong co-occurrence is a short
  step). Exact (igraph's ``betweenness``) when at most ``betweenness_exact_max_nodes`` items
  have an edge. Above that, sampled: ``betweenness_sample`` source items drawn uniformly (seed
  ``seed``) among those with an edge; for each, igraph's ``get_all_shortest_paths`` gives every
  shortest path from it, each path's inner items gain 1 / (number of shortest paths to its
  end), and the sum is scaled by (items with an edge) / (sources) and halved (undirected pairs),
  which estimates the exact value without bias (Brandes and Pich's source sampling; python-
  igraph 0.10.2, the Debian version, cannot restrict ``betweenness`` to a set of sources). On
  online_retail's training graph (3,364 items with edges, 257,677 edges) 200 sources took 3.6 s
  against 21.8 s for the exact value, with a Spearman correlation of 0.91 between the two (800
  sources: 12.3 s, 0.97; bench/check_betweenness_sampling.py, bench/RESULTS.md).
* Katz: igraph has none. x = alpha * A x + 1 is iterated (A the weighted adjacency) with
  alpha = ``katz_attenuation`` / lambda_max, lambda_max being the leading eigenvalue that
  igraph's ``eigenvector_centrality(return_eigenvalue=True)`` returns; the result is scaled to
  unit L2 norm, as networkx's ``katz_centrality(normalized=True)``.
"""

from __future__ import annotations

import numpy as np

CENTRALITIES = ("pagerank", "betweenness", "katz", "degree_centrality")


def graph_edges(graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each undirected edge once (x < y) as arrays (x, y, weight)."""
    offsets = np.asarray(graph.offsets)
    neighbours = np.asarray(graph.neighbours)
    weights = np.asarray(graph.weights)
    source = np.repeat(np.arange(graph.num_items, dtype=np.int64), np.diff(offsets))
    once = source < neighbours
    return source[once], neighbours[once].astype(np.int64), weights[once].astype(np.float64)


def katz_centrality(graph, attenuation: float = 0.5, tol: float = 1e-10,
                    max_iter: int = 1000) -> np.ndarray:
    """Katz centrality x = alpha A x + 1, alpha = attenuation / lambda_max (see the module)."""
    import igraph

    if not 0 < attenuation < 1:
        raise ValueError(f"katz_attenuation must be in (0, 1), got {attenuation}")
    n = graph.num_items
    offsets = np.asarray(graph.offsets)
    neighbours = np.asarray(graph.neighbours).astype(np.int64)
    weights = np.asarray(graph.weights).astype(np.float64)
    if len(weights) == 0:
        return np.full(n, 1.0 / np.sqrt(n))
    x, y, w = graph_edges(graph)
    g = igraph.Graph(n=n, edges=np.column_stack([x, y]).tolist(), directed=False)
    _, eigenvalue = g.eigenvector_centrality(directed=False, scale=False, weights=w.tolist(),
                                             return_eigenvalue=True)
    alpha = attenuation / eigenvalue
    row = np.repeat(np.arange(n), np.diff(offsets))
    value = np.ones(n)
    for _ in range(max_iter):
        nxt = alpha * np.bincount(row, weights=weights * value[neighbours], minlength=n) + 1.0
        done = np.abs(nxt - value).max() <= tol * np.abs(nxt).max()
        value = nxt
        if done:
            break
    return value / np.linalg.norm(value)


def sampled_betweenness(g, lengths, sample: int, seed: int = 0) -> np.ndarray:
    """Betweenness of an undirected igraph graph estimated from ``sample`` source vertices
    (see the module); with every vertex that has an edge as a source it is the exact value."""
    n = g.vcount()
    connected = np.flatnonzero(np.asarray(g.degree()) > 0)
    sources = np.random.default_rng(seed).choice(connected, size=min(sample, len(connected)),
                                                 replace=False)
    total = np.zeros(n)
    for source in sources:  # one Dijkstra per sampled source, inside igraph
        paths = g.get_all_shortest_paths(int(source), weights=lengths)
        ends = np.fromiter((p[-1] for p in paths), dtype=np.int64, count=len(paths))
        inner_lengths = np.fromiter((len(p) - 2 for p in paths), dtype=np.int64,
                                    count=len(paths))
        inner = np.fromiter((v for p in paths if len(p) > 2 for v in p[1:-1]), dtype=np.int64)
        paths_to = np.bincount(ends, minlength=n)
        through = inner_lengths > 0
        weights = np.repeat(1.0 / paths_to[ends[through]], inner_lengths[through])
        total += np.bincount(inner, weights=weights, minlength=n)
    return total * len(connected) / max(len(sources), 1) / 2.0


def graph_centralities(
    graph,
    pagerank_damping: float = 0.85,
    betweenness_exact_max_nodes: int = 2000,
    betweenness_sample: int = 200,
    katz_attenuation: float = 0.5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """PageRank, betweenness, Katz and degree centrality of every item (float64 arrays of
    ``graph.num_items``); see the module for the definitions and the betweenness sample."""
    import warnings

    import igraph

    n = graph.num_items
    x, y, w = graph_edges(graph)
    g = igraph.Graph(n=n, edges=np.column_stack([x, y]).tolist(), directed=False)
    degree = np.asarray(g.degree(), dtype=np.float64)
    out = {"degree_centrality": degree / max(n - 1, 1)}
    if len(w) == 0:
        out.update(pagerank=np.full(n, 1.0 / n), betweenness=np.zeros(n),
                   katz=np.full(n, 1.0 / np.sqrt(n)))
        return out
    out["pagerank"] = np.asarray(g.pagerank(directed=False, damping=pagerank_damping,
                                            weights=w.tolist()))
    lengths = (w.max() / w).tolist()
    if int((degree > 0).sum()) <= betweenness_exact_max_nodes:
        out["betweenness"] = np.asarray(g.betweenness(directed=False, weights=lengths),
                                        dtype=np.float64)
    else:
        with warnings.catch_warnings():  # igraph warns for every unreachable component
            warnings.simplefilter("ignore", RuntimeWarning)
            out["betweenness"] = sampled_betweenness(g, lengths, betweenness_sample, seed)
    out["katz"] = katz_centrality(graph, katz_attenuation)
    return out
