"""Pair max-pooling of summed table rows, without materialising per-pair maps.

For every entity ``e`` and position ``n`` of its sentence, the convolution
output (before bias and non-linearity) is a sum of rows of four tables
(see :class:`~spacy_bio_rel.ml.bio_tag_cnn.BioTagCNN`), each row read
through one filter tap:

- ``table_w[ids_w[s, n, :]]``, ``table_t[ids_t[s, n, :]]``: the units and
  BIO tags of the entity's sentence ``s = ent_sent[e]``,
- ``table_1[ids_1[e, n, :]]``: the distances to ``e`` as first entity,
- ``table_2[ids_2[e, n, :]]``: the distances to ``e`` as second entity,

and a pair ``p = (e1, e2)`` pools ``max_n A[e1, n] + B[e2, n]`` with ``A``
the first three sums and ``B`` the fourth. Any table may be None (feature
switched off). An optional dense sentence map ``D[s, n]`` (the convolution of
a dense channel, computed by autograd outside) is added to the sentence part;
its gradient is scattered to each pooled value's argmax position.

The forward pass gathers the sums with ``embedding_bag`` and pools the pairs
in chunks small enough to stay in cache. The backward pass sends each pooled
gradient to its argmax position only (max-pooling's gradient) and from there
straight to the table rows that position read: P x taps x F additions
instead of a dense pass over every entity, position and tap.
"""

from typing import Optional, Sequence, Tuple

import numpy
import torch

CHUNK_ELEMENTS = 1 << 19  # pair-chunk size: about 2 MB of float32 per buffer


def max_pool_pairs(A, B, i, j, lengths, with_argmax=True):
    """Chunked ``max_n A[i] + B[j]``: values and argmax positions, (P, F) each
    (argmax None if not ``with_argmax``: max alone is several times faster).

    Pairs are visited from the shortest sentence to the longest, and each
    chunk only scans the positions its longest sentence has (the rest is
    -inf padding).
    """
    P = i.shape[0]
    _, N, F = A.shape
    out = A.new_empty((P, F))
    arg = torch.empty((P, F), dtype=torch.long, device=A.device) if with_argmax else None
    sorted_lengths, order = torch.sort(lengths.index_select(0, i))
    ends = sorted_lengths.clamp(min=1).cpu().numpy()
    budget = max(1, CHUNK_ELEMENTS // max(1, F))  # pairs x positions per chunk
    s = 0
    while s < P:
        # lengths ascend, so a chunk [s, e) scans (e - s) * ends[e - 1] positions
        cost = numpy.arange(1, P - s + 1) * ends[s:]
        e = s + max(1, int(numpy.searchsorted(cost, budget, side="right")))
        n = int(ends[e - 1])
        rows = order[s:e]
        h = A[:, :n].index_select(0, i.index_select(0, rows))
        if B is not None:
            h.add_(B[:, :n].index_select(0, j.index_select(0, rows)))
        if with_argmax:
            values, where = torch.max(h, 1)
            arg.index_copy_(0, rows, where)
        else:
            values = torch.amax(h, 1)
        out.index_copy_(0, rows, values)
        s = e
    return out, arg


def _bag(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    B, N, T = ids.shape
    return torch.nn.functional.embedding_bag(ids.reshape(B * N, T), table, mode="sum").reshape(B, N, -1)


def _table_grad(grad, arg, ids, idx, shape, tap_cols):
    """Gradient of a table: each pooled value's gradient to the rows its argmax read.

    ``tap_cols[t] = (lo, hi)``: the filters that have tap ``t`` lie in columns
    ``lo:hi``; the other columns of that tap's rows are structural zeros and
    get no gradient.
    """
    d = grad.new_zeros(shape)
    sel = ids.index_select(0, idx)  # (P, N, T)
    for t, (lo, hi) in enumerate(tap_cols):
        if hi > lo:
            rows = sel[:, :, t].gather(1, arg[:, lo:hi])  # (P, hi - lo)
            d[:, lo:hi].scatter_add_(0, rows, grad[:, lo:hi])
    return d


class _PairMaxPoolTables(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx,
        table_w,
        ids_w,
        table_t,
        ids_t,
        table_1,
        ids_1,
        table_2,
        ids_2,
        ent_sent,
        lengths,
        e1,
        e2,
        tap_cols,
        dense_map,
    ):
        with torch.no_grad():
            C = None if dense_map is None else dense_map.detach().clone()  # (S, N, F): sentence-level part
            for table, ids in ((table_w, ids_w), (table_t, ids_t)):
                if table is not None:
                    C = _bag(table, ids) if C is None else C.add_(_bag(table, ids))
            A = None if C is None else C.index_select(0, ent_sent)
            if table_1 is not None:
                A = _bag(table_1, ids_1) if A is None else A.add_(_bag(table_1, ids_1))
            pad = torch.arange(A.shape[1], device=A.device)[None, :] >= lengths[:, None]
            A.masked_fill_(pad[..., None], float("-inf"))
            B = _bag(table_2, ids_2) if table_2 is not None else None
        out, arg = max_pool_pairs(A, B, e1, e2, lengths, with_argmax=any(ctx.needs_input_grad))
        ctx.save_for_backward(ids_w, ids_t, ids_1, ids_2, ent_sent, e1, e2, arg)
        ctx.tap_cols = tap_cols
        ctx.shapes = tuple(None if t is None else t.shape for t in (table_w, table_t, table_1, table_2))
        ctx.dense_shape = None if dense_map is None else dense_map.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        ids_w, ids_t, ids_1, ids_2, ent_sent, e1, e2, arg = ctx.saved_tensors
        grad = grad.contiguous()
        sent = ent_sent.index_select(0, e1)
        grads = []
        for k, (ids, idx) in enumerate(((ids_w, sent), (ids_t, sent), (ids_1, e1), (ids_2, e2))):
            shape = ctx.shapes[k]
            need = shape is not None and ctx.needs_input_grad[2 * k]
            grads += [_table_grad(grad, arg, ids, idx, shape, ctx.tap_cols) if need else None, None]
        d_dense = None
        if ctx.dense_shape is not None and ctx.needs_input_grad[13]:
            S, N, F_ = ctx.dense_shape
            d_dense = grad.new_zeros((S * N, F_))
            d_dense.scatter_add_(0, sent[:, None] * N + arg, grad)
            d_dense = d_dense.view(S, N, F_)
        return (*grads, None, None, None, None, None, d_dense)


def pair_max_pool_tables(
    table_w: Optional[torch.Tensor],
    ids_w: Optional[torch.Tensor],
    table_t: Optional[torch.Tensor],
    ids_t: Optional[torch.Tensor],
    table_1: Optional[torch.Tensor],
    ids_1: Optional[torch.Tensor],
    table_2: Optional[torch.Tensor],
    ids_2: Optional[torch.Tensor],
    ent_sent: torch.Tensor,
    lengths: torch.Tensor,
    e1: torch.Tensor,
    e2: torch.Tensor,
    tap_cols: Sequence[Tuple[int, int]],
    dense_map: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``out[p, f] = max_n A[e1[p], n, f] + B[e2[p], n, f]`` (see module doc).

    ``lengths`` (E,): the length of each entity's sentence; positions past it
    are padding and never win the max. ``tap_cols[t] = (lo, hi)``: the
    columns of the filters that have tap ``t`` (the rest are zero).
    ``dense_map`` (S, N, F): an extra sentence-level part (differentiable).
    """
    return _PairMaxPoolTables.apply(
        table_w,
        ids_w,
        table_t,
        ids_t,
        table_1,
        ids_1,
        table_2,
        ids_2,
        ent_sent,
        lengths,
        e1,
        e2,
        tap_cols,
        dense_map,
    )
