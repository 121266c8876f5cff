"""Max-pooling of pair feature maps without materialising them all at once.

``pair_max_pool(A, B, i, j)[p, f] = max_n A[i[p], n, f] + B[j[p], n, f]``.

The forward pass works through the pairs in chunks small enough to stay in
cache; the backward pass scatters each pooled gradient to its argmax position
only (what max-pooling's gradient is), instead of building dense (P, N, F)
gradients.
"""
from typing import Optional

import torch

CHUNK_ELEMENTS = 1 << 19  # pair-chunk size: about 2 MB of float32 per buffer


def _pool_forward(A, B, i, j):
    """Chunked ``max_n A[i] + B[j]``: values and argmax positions, (P, F) each."""
    P = i.shape[0]
    _, N, F = A.shape
    out = A.new_empty((P, F))
    arg = torch.empty((P, F), dtype=torch.long, device=A.device)
    step = max(1, CHUNK_ELEMENTS // max(1, N * F))
    for s in range(0, P, step):
        e = min(P, s + step)
        h = A.index_select(0, i[s:e])
        if B is not None:
            h.add_(B.index_select(0, j[s:e]))
        torch.max(h, 1, out=(out[s:e], arg[s:e]))
    return out, arg


class _PairMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, A, B, i, j):
        out, arg = _pool_forward(A, B, i, j)
        ctx.save_for_backward(i, j if B is not None else None, arg)
        ctx.shapes = (A.shape, None if B is None else B.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        i, j, arg = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        _, N, F = a_shape
        f = torch.arange(F, device=grad.device)[None, :]
        grad = grad.contiguous()
        dA = dB = None
        if ctx.needs_input_grad[0]:
            flat = (i[:, None] * N + arg) * F + f
            dA = grad.new_zeros(a_shape).view(-1).index_add_(0, flat.view(-1), grad.view(-1)).view(a_shape)
        if b_shape is not None and ctx.needs_input_grad[1]:
            flat = (j[:, None] * N + arg) * F + f
            dB = grad.new_zeros(b_shape).view(-1).index_add_(0, flat.view(-1), grad.view(-1)).view(b_shape)
        return dA, dB, None, None


def pair_max_pool(A: torch.Tensor, B: Optional[torch.Tensor], i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    return _PairMaxPool.apply(A, B, i, j)


def _bag(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    E, N, T = ids.shape
    return torch.nn.functional.embedding_bag(ids.reshape(E * N, T), table, mode="sum").reshape(E, N, -1)


class _PairMaxPoolTables(torch.autograd.Function):
    """``max_n C[e1, n] + sum_t T1[ids1[e1, n, t]] + sum_t T2[ids2[e2, n, t]]``, -inf where ``pad``.

    The position parts are gathered from their tables inside the op, and
    their gradient goes straight from each pooled value's argmax to the table
    rows it read: P x F x T additions instead of a dense pass over every
    entity, position and tap.
    """

    @staticmethod
    def forward(ctx, C, table1, ids1, table2, ids2, pad, e1, e2):
        with torch.no_grad():
            A = _bag(table1, ids1)
            if C is not None:
                A += C
            A.masked_fill_(pad, float("-inf"))
            B = _bag(table2, ids2)
        out, arg = _pool_forward(A, B, e1, e2)
        ctx.save_for_backward(e1, e2, arg, ids1, ids2)
        ctx.table_shapes = (table1.shape, table2.shape)
        ctx.c_shape = None if C is None else C.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        e1, e2, arg, ids1, ids2 = ctx.saved_tensors
        grad = grad.contiguous()
        P, F = grad.shape
        f = torch.arange(F, device=grad.device)
        dC = None
        if ctx.c_shape is not None and ctx.needs_input_grad[0]:
            _, N, _ = ctx.c_shape
            flat = (e1[:, None] * N + arg) * F + f[None, :]
            dC = grad.new_zeros(ctx.c_shape).view(-1).index_add_(0, flat.view(-1), grad.view(-1)).view(ctx.c_shape)
        d_tables = []
        for ids, e, shape in ((ids1, e1, ctx.table_shapes[0]), (ids2, e2, ctx.table_shapes[1])):
            rows = ids[e[:, None], arg]  # (P, F, T) table rows read by each argmax
            flat = rows * F + f[None, :, None]
            T = rows.shape[2]
            d = grad.new_zeros(shape).view(-1)
            d.index_add_(0, flat.reshape(-1), grad[:, :, None].expand(P, F, T).reshape(-1))
            d_tables.append(d.view(shape))
        return dC, d_tables[0], None, d_tables[1], None, None, None, None


def pair_max_pool_tables(C, table1, ids1, table2, ids2, pad, e1, e2) -> torch.Tensor:
    return _PairMaxPoolTables.apply(C, table1, ids1, table2, ids2, pad, e1, e2)
