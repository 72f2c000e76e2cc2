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
* Betweenness: igraph's, with edge *lengths* ``max_weight / weight`` (a strong co-occurrence is
  a short step). Exact when at most ``betweenness_exact_max_nodes`` items have an edge;
  above that, igraph's estimate over paths no longer than ``betweenness_cutoff`` (in those
  length units: 3.0 = three steps along the strongest edge). python-igraph 0.10.2, the Debian
  version, has no betweenness from a sample of sources (its ``betweenness`` takes no
  ``sources``), so the estimate is igraph's path-length cutoff, not source sampling.
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


def graph_centralities(
    graph,
    pagerank_damping: float = 0.85,
    betweenness_exact_max_nodes: int = 5000,
    betweenness_cutoff: float = 3.0,
    katz_attenuation: float = 0.5,
) -> dict[str, np.ndarray]:
    """PageRank, betweenness, Katz and degree centrality of every item (float64 arrays of
    ``graph.num_items``); see the module for the definitions and the betweenness estimate."""
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
    connected = int((degree > 0).sum())
    cutoff = None if connected <= betweenness_exact_max_nodes else betweenness_cutoff
    out["betweenness"] = np.asarray(g.betweenness(directed=False, weights=lengths,
                                                  cutoff=cutoff), dtype=np.float64)
    out["katz"] = katz_centrality(graph, katz_attenuation)
    return out
