"""Prediction-time tables of the fast path: computed once, folded over taps.

Training builds the tap tables of :class:`~.torch_model.BioTagCNN` every
step (the weights change, and gradients flow through them). At prediction
the weights are fixed, so this module builds them once and keeps them until
a weight changes: the network drops them on every forward pass with
gradients (a training step; Thinc's optimiser then writes the weights in
place, unseen by torch's version counters), and they are rebuilt when a
parameter's storage or version counter changes (``load_state_dict``,
``to(device)``, in-place edits):

- the unit and tag tap tables, for the whole vocabulary (no ``unique`` per
  batch, no matrix product per batch); one table, so a sentence position
  sums its unit and tag taps in one ``embedding_bag``;
- the position blocks folded over the taps. The position part of entity
  ``e`` at position ``n`` sums, over the taps ``t``, the tap-``t`` row of
  the clipped distance of unit ``m = n + t - left`` to ``e``. Split the taps
  into those before the entity, inside it and after it: with
  ``C[z, k] = sum_{t<k} P[clip(z + t - left), t]`` (``P`` the position tap
  table) and ``Z0[k] = sum_{t<k} P[0, t]``, the sum is
  ``G[n - start] + H[n - (end - 1)]`` with
  ``G[x] = C[x, tb(x)] - Z0[tb(x)]``, ``tb(x) = clamp(left - x, 0, T)`` and
  ``H[y] = Z0[ti(y)] - C[y, ti(y)] + C[y, T]``, ``ti(y) = clamp(left + 1 - y, 0, T)``:
  two rows instead of ``T``. Taps outside the sentence read zeros in the
  exact path; they only occur at the first ``left`` and last ``T - 1 - left``
  positions of a sentence, where a correction removes them
  (``- C[x, t0]`` on the left, ``- (C[y, T] - C[y, tL])`` on the right).

``G``, ``H`` and ``C`` are accumulated in float64 and stored in float32, so
the folded sums differ from the per-tap sums by rounding only (checked to
1e-5 by ``tests/ml/test_infer_tables.py``).
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F


def _weights_key(module: torch.nn.Module) -> Tuple:
    return tuple((p.data_ptr(), p._version, tuple(p.shape)) for p in module.parameters())


class InferenceTables:
    """The tables of one network at its current weights (rebuilt when a weight changes)."""

    def __init__(self):
        self.key: Optional[Tuple] = None
        self.blocks: Dict[str, torch.Tensor] = {}  # the filter taps per input block (BioTagCNN.kernel_blocks)
        self.shared: Optional[torch.Tensor] = None  # (rows * T + T, F): unit rows, then tag rows
        self.n_units = 0
        self.n_tags = 0
        self.folded: Dict[str, torch.Tensor] = {}
        self.reach = 0  # G/H/C cover x, y in [-reach, reach]

    def refresh(self, net, N: int) -> None:
        key = _weights_key(net)
        if key != self.key:
            self.key, self.folded, self.reach = key, {}, 0
            self._build_shared(net)
        if net.pos1_emb is not None and (not self.folded or N - 1 > self.reach):
            self._build_positions(net, max(N - 1, 2 * self.reach, 64))

    def _build_shared(self, net) -> None:
        self.blocks = {name: block.detach() for name, block in net.kernel_blocks().items()}
        parts = []
        self.n_units = self.n_tags = 0
        if net.word_emb is not None:
            parts.append(net._tap_table(net.word_emb.weight.detach(), self.blocks["word"]))
            self.n_units = net.word_emb.num_embeddings
        if net.tag_emb is not None:
            parts.append(net._tap_table(net.tag_emb.weight.detach(), self.blocks["tag"]))
            self.n_tags = net.tag_emb.num_embeddings
        self.shared = torch.cat(parts, 0) if parts else None

    def _build_positions(self, net, reach: int) -> None:
        T, left, maxd = net._n_taps, net._max_left, net.max_distance
        z = torch.arange(-reach, reach + 1, device=net.conv_bias.device)
        taps = torch.arange(T, device=z.device)
        ids = (z[:, None] + taps[None, :] - left).clamp(-maxd, maxd) + maxd  # (Z, T)
        GH, Cs = [], []
        for emb, block in ((net.pos1_emb, self.blocks["pos1"]), (net.pos2_emb, self.blocks["pos2"])):
            width, _, F_ = block.shape
            P = (emb.weight.detach().double() @ block.double().reshape(width, T * F_)).view(-1, T, F_)
            vals = P[ids, taps[None, :]]  # (Z, T, F)
            C = torch.cat([vals.new_zeros((len(z), 1, F_)), vals.cumsum(1)], 1)  # (Z, T + 1, F)
            Z0 = torch.cat([vals.new_zeros((1, F_)), P[maxd].cumsum(0)], 0)  # (T + 1, F)
            rows = torch.arange(len(z), device=z.device)
            tb = (left - z).clamp(0, T)
            ti = (left + 1 - z).clamp(0, T)
            G = C[rows, tb] - Z0[tb]
            H = Z0[ti] - C[rows, ti] + C[:, T]
            GH.append(torch.cat([G, H], 0))  # rows: G over z, then H over z
            Cs.append(C.reshape(-1, F_))
        # both position blocks side by side: one gather serves the first and the second entity's part
        self.folded = {"GH": torch.cat(GH, 1).float(), "C": torch.cat(Cs, 1).float()}
        self.reach = reach

    # -- the parts of the fast path -------------------------------------------
    def sentence_part(
        self, net, words: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor
    ) -> Optional[torch.Tensor]:
        """(S, N, F): the unit and tag taps summed per sentence position."""
        if self.shared is None:
            return None
        T = net._n_taps
        ids = []
        R = 0
        if net.word_emb is not None:
            ids.append(net._tap_ids(net._unit_rows(words), lengths, self.n_units))
            R += (self.n_units + 1) * T
        if net.tag_emb is not None:
            ids.append(net._tap_ids(net._unit_rows(tags), lengths, self.n_tags) + R)
        ids = torch.cat(ids, 2) if len(ids) > 1 else ids[0]
        S, N, K = ids.shape
        return F.embedding_bag(ids.reshape(S * N, K), self.shared, mode="sum").view(S, N, -1)

    def position_parts(
        self, net, ent_start: torch.Tensor, ent_end: torch.Tensor, lengths_e: torch.Tensor, N: int
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(E, N, F) twice: every entity's position block as first and as second
        entity, folded over the taps."""
        T, left, reach = net._n_taps, net._max_left, self.reach
        Z = 2 * reach + 1
        n = torch.arange(N, device=ent_start.device)[None, :]
        x = n - ent_start[:, None] + reach  # row of G
        y = n - (ent_end[:, None] - 1) + reach + Z  # row of H
        E = ent_start.shape[0]
        ids = torch.stack([x, y], 2).reshape(E * N, 2)
        out = F.embedding_bag(ids, self.folded["GH"], mode="sum")  # (E * N, 2F)
        # taps outside the sentence: the first `left` and the last `T - 1 - left` positions
        right = T - 1 - left
        edge_n = torch.cat(
            [
                torch.arange(left, device=n.device)[None, :].expand(E, -1),
                lengths_e[:, None] - right + torch.arange(right, device=n.device)[None, :],
            ],
            1,
        )  # (E, left + right)
        # a position in both ranges (sentences shorter than T) is listed once, on the left
        valid = (edge_n >= 0) & (edge_n < lengths_e[:, None]) & (edge_n < N)
        valid[:, left:] &= edge_n[:, left:] >= left
        e_idx = torch.arange(E, device=n.device)[:, None].expand_as(edge_n)[valid]
        edge_n = edge_n[valid]
        if edge_n.numel():
            xs = edge_n - ent_start[e_idx] + reach
            ys = edge_n - (ent_end[e_idx] - 1) + reach
            t0 = (left - edge_n).clamp(0, T)
            tL = (lengths_e[e_idx] - edge_n + left).clamp(0, T)
            rows = torch.stack([xs * (T + 1) + t0, ys * (T + 1) + T, ys * (T + 1) + tL], 1)
            weights = torch.tensor([[-1.0, -1.0, 1.0]], dtype=out.dtype, device=out.device).expand(
                len(rows), 3
            )
            corr = F.embedding_bag(
                rows, self.folded["C"], mode="sum", per_sample_weights=weights.contiguous()
            )
            out.index_add_(0, e_idx * N + edge_n, corr)
        out = out.view(E, N, -1)
        F_ = out.shape[2] // 2
        return out[:, :, :F_], out[:, :, F_:]
