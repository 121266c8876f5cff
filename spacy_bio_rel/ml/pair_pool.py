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


class _PairMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, A, B, i, j):
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
