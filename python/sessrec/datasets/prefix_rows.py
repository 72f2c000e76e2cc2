"""Full sequences rebuilt from prefix-expanded rows (history -> next item).

Tools that write pre-split files (RecBole, UniSRec's preprocessing) expand a sequence
``s[0] .. s[L-1]`` into one row per position ``p``: the history ``s[p-h:p]`` and the target
``s[p]``, where the history may be cut to its last ``cap`` items (``h = min(p, cap)``). The rows
of one sequence may come in ascending or descending order, interleaved with other sequences.

Rows of one group (a user or a session) are put in position order by block (train rows before
valid rows before test rows), then by history length; rows of equal length (cut histories) keep
their file order, reversed for a group whose rows come longest history first. The sequence is
the first row's history followed by every row's target; each row's history must then equal the
items just before its position, which is how contradicting rows are found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def concatenated_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n in zip(starts, lengths))`` without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    begins = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(np.asarray(starts, dtype=np.int64) - begins, lengths) + np.arange(total)


@dataclass
class Sequences:
    """Rebuilt sequences: ``tokens[offsets[g]:offsets[g+1]]`` is group ``groups[g]``."""

    groups: np.ndarray  # group code of each sequence
    offsets: np.ndarray  # (num_sequences + 1,)
    tokens: np.ndarray  # token codes, position order
    first_history_length: np.ndarray  # items before the first row's target, per sequence
    row_position: np.ndarray  # position of each row's target in its sequence (input row order)
    row_sequence: np.ndarray  # sequence index of each row (input row order)
    row_consistent: np.ndarray  # does each row's history equal the items before its target?


def position_order(group: np.ndarray, block: np.ndarray, history_length: np.ndarray) -> np.ndarray:
    """Row indices in position order (input rows are in file order within each block)."""
    n = len(group)
    file_order = np.arange(n, dtype=np.int64)
    pair_code = group.astype(np.int64) * (int(block.max()) + 1) + block
    pair_values, pair = np.unique(pair_code, return_inverse=True)
    first = np.full(len(pair_values), n, dtype=np.int64)
    last = np.full(len(pair_values), -1, dtype=np.int64)
    np.minimum.at(first, pair, file_order)
    np.maximum.at(last, pair, file_order)
    descending = history_length[first] > history_length[last]
    undecided = history_length[first] == history_length[last]
    # A group whose rows all have one history length follows the majority of its block.
    pair_block = pair_values % (int(block.max()) + 1)
    votes = np.bincount(pair_block[~undecided], weights=np.where(descending, 1, -1)[~undecided],
                        minlength=int(block.max()) + 1)
    descending[undecided] = votes[pair_block[undecided]] > 0
    tiebreak = np.where(descending[pair], -file_order, file_order)
    return np.lexsort((tiebreak, history_length, block, group))


def rebuild_sequences(
    group: np.ndarray,
    block: np.ndarray,
    history_offsets: np.ndarray,
    history_tokens: np.ndarray,
    targets: np.ndarray,
) -> Sequences:
    """Rebuild one sequence per group from its rows and check every row against it."""
    n = len(group)
    history_length = np.diff(history_offsets)
    order = position_order(group, block, history_length)
    sorted_group = group[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_group[1:] != sorted_group[:-1]]))
    rows_per_sequence = np.diff(np.append(starts, n))
    sequence_of_sorted = np.repeat(np.arange(len(starts)), rows_per_sequence)
    rank = np.arange(n) - starts[sequence_of_sorted]
    first_rows = order[starts]
    first_length = history_length[first_rows]
    offsets = np.concatenate([[0], np.cumsum(first_length + rows_per_sequence)]).astype(np.int64)

    tokens = np.empty(int(offsets[-1]), dtype=history_tokens.dtype)
    head = concatenated_ranges(offsets[:-1], first_length)
    tokens[head] = history_tokens[concatenated_ranges(history_offsets[first_rows], first_length)]
    position_sorted = first_length[sequence_of_sorted] + rank
    tokens[offsets[sequence_of_sorted] + position_sorted] = targets[order]

    # Each row's history must be the items just before its target.
    length_sorted = history_length[order]
    window_start = position_sorted - length_sorted
    fits = window_start >= 0
    expected = concatenated_ranges(offsets[sequence_of_sorted] + np.maximum(window_start, 0),
                                   np.where(fits, length_sorted, 0))
    actual = concatenated_ranges(history_offsets[order], np.where(fits, length_sorted, 0))
    mismatch = tokens[expected] != history_tokens[actual]
    row_of_token = np.repeat(np.arange(n), np.where(fits, length_sorted, 0))
    consistent_sorted = fits & (np.bincount(row_of_token, weights=mismatch, minlength=n) == 0)

    row_position = np.empty(n, dtype=np.int64)
    row_sequence = np.empty(n, dtype=np.int64)
    row_consistent = np.empty(n, dtype=bool)
    row_position[order] = position_sorted
    row_sequence[order] = sequence_of_sorted
    row_consistent[order] = consistent_sorted
    return Sequences(
        groups=sorted_group[starts],
        offsets=offsets,
        tokens=tokens,
        first_history_length=first_length,
        row_position=row_position,
        row_sequence=row_sequence,
        row_consistent=row_consistent,
    )
