"""The paper's network as a plain PyTorch module, with two exact forward paths.

Input per unit: [word (200); BIO tag (50); position to e1 (50); position to
e2 (50)], each part switchable. Convolution with windows 4..10, 64 filters
each, zero padding to the sentence length ("same": ``(k-1)//2`` zeros on the
left, the rest on the right), non-linearity, max-pooling over the sentence,
a 128-unit hidden layer with dropout, class scores (one per relation label, no
bias, no score for Other) and a 2-way relation-identification head.

Reference path (``fast=False``): builds the full input matrix of every pair and
convolves it, exactly as the paper describes.

Fast path (``fast=True``, default): convolution is linear in its input, so the
convolution over [word; tag; pos1; pos2] is the sum of the convolution over
[word; tag], computed once per sentence and shared by all its pairs, and of
the convolutions over pos1 and pos2. Those depend only on each unit's relative
distance to one entity, so they are computed once per (sentence, entity) by
gathering rows of a small table ``position embedding x filter tap`` and summing
over taps (``embedding_bag``); taps that fall outside the sentence gather a
zero row, which keeps zero padding exact. The bias is added after pooling and
the non-linearity (tanh or relu, both non-decreasing) is applied after
max-pooling: ``max_i g(x_i + b) == g(max_i x_i + b)``. Same parameters, same
mathematics, far less work per pair.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .pair_pool import pair_max_pool, pair_max_pool_tables

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def relative_positions(pos: torch.Tensor, start: torch.Tensor, end: torch.Tensor, max_distance: int) -> torch.Tensor:
    """Ids of clipped relative distances: negative before the entity, 0 inside
    ``[start, end)``, positive after it; shifted into ``[0, 2 * max_distance]``."""
    d = torch.where(pos < start, pos - start, torch.where(pos >= end, pos - (end - 1), torch.zeros_like(pos)))
    return d.clamp(-max_distance, max_distance) + max_distance


class BioTagCNN(nn.Module):
    def __init__(
        self,
        n_words: int = 2,
        n_tags: int = 4,
        n_classes: int = 1,
        word_width: int = 200,
        tag_width: int = 50,
        position_width: int = 50,
        max_distance: int = 100,
        window_sizes: Sequence[int] = (4, 5, 6, 7, 8, 9, 10),
        n_filters: int = 64,
        hidden_width: int = 128,
        dropout: float = 0.2,
        activation: str = "tanh",
        use_words: bool = True,
        use_tags: bool = True,
        use_positions: bool = True,
        fast: bool = True,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not window_sizes or min(window_sizes) < 1:
            raise ValueError(f"window_sizes must be positive integers, got {list(window_sizes)}")
        self.window_sizes = [int(k) for k in window_sizes]
        self.n_filters = n_filters
        self.max_distance = max_distance
        self.position_width = position_width
        self.activation = activation
        self.act = ACTIVATIONS[activation]
        self.fast = fast
        self.word_emb = nn.Embedding(n_words, word_width, padding_idx=0) if use_words else None
        self.tag_emb = nn.Embedding(n_tags, tag_width, padding_idx=0) if use_tags else None
        n_dist = 2 * max_distance + 1
        self.pos1_emb = nn.Embedding(n_dist, position_width) if use_positions else None
        self.pos2_emb = nn.Embedding(n_dist, position_width) if use_positions else None
        self.shared_width = word_width * use_words + tag_width * use_tags
        in_width = self.shared_width + 2 * position_width * use_positions
        if in_width == 0:
            raise ValueError("At least one of use_words, use_tags, use_positions must be true")
        self.conv_weights = nn.ParameterList()
        for k in self.window_sizes:
            w = torch.empty(n_filters, in_width, k)
            bound = 1.0 / (in_width * k) ** 0.5
            nn.init.uniform_(w, -bound, bound)
            self.conv_weights.append(nn.Parameter(w))
        self.n_pooled = n_filters * len(self.window_sizes)
        self.conv_bias = nn.Parameter(torch.zeros(self.n_pooled))
        self.hidden = nn.Linear(self.n_pooled, hidden_width)
        self.dropout = nn.Dropout(dropout)
        self.class_out = nn.Linear(hidden_width, n_classes, bias=False)
        self.id_out = nn.Linear(hidden_width, 2)
        self._left = [(k - 1) // 2 for k in self.window_sizes]
        self._max_left = max(self._left)
        self._n_taps = max(k - 1 - l for k, l in zip(self.window_sizes, self._left)) + self._max_left + 1

    # -- sizing ---------------------------------------------------------------
    def resize(self, n_words: int, n_tags: int, n_classes: int) -> None:
        """Re-create the vocabulary- and label-sized layers (fresh weights if a size changes)."""
        device = self.conv_bias.device
        if self.word_emb is not None and self.word_emb.num_embeddings != n_words:
            self.word_emb = nn.Embedding(n_words, self.word_emb.embedding_dim, padding_idx=0).to(device)
        if self.tag_emb is not None and self.tag_emb.num_embeddings != n_tags:
            self.tag_emb = nn.Embedding(n_tags, self.tag_emb.embedding_dim, padding_idx=0).to(device)
        if self.class_out.out_features != n_classes:
            self.class_out = nn.Linear(self.class_out.in_features, n_classes, bias=False).to(device)

    @property
    def n_classes(self) -> int:
        return self.class_out.out_features

    # -- forward ----------------------------------------------------------------
    def forward(
        self,
        words: torch.Tensor,
        tags: torch.Tensor,
        lengths: torch.Tensor,
        ent_sent: torch.Tensor,
        ent_start: torch.Tensor,
        ent_end: torch.Tensor,
        pair_e1: torch.Tensor,
        pair_e2: torch.Tensor,
        fast: Optional[bool] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        use_fast = self.fast if fast is None else fast
        if pair_e1.shape[0] == 0:
            h = self.conv_bias.new_zeros((0, self.hidden.out_features))
            return self.class_out(h), self.id_out(h)
        args = (words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2)
        pooled = self.pool_fast(*args) if use_fast else self.pool_reference(*args)
        h = self.dropout(self.act(self.hidden(pooled)))
        return self.class_out(h), self.id_out(h)

    def _shared_embeddings(self, words: torch.Tensor, tags: torch.Tensor) -> Optional[torch.Tensor]:
        parts = []
        if self.word_emb is not None:
            parts.append(self.word_emb(words))
        if self.tag_emb is not None:
            parts.append(self.tag_emb(tags))
        return torch.cat(parts, -1) if parts else None

    def pool_reference(self, words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2):
        """Per pair: the full input matrix, convolution, g, max-pooling."""
        pair_sent = ent_sent[pair_e1]
        N = words.shape[1]
        pos = torch.arange(N, device=words.device)[None, :]
        mask = pos < lengths[pair_sent][:, None]  # (P, N)
        parts = []
        shared = self._shared_embeddings(words[pair_sent], tags[pair_sent])
        if shared is not None:
            parts.append(shared)
        if self.pos1_emb is not None:
            for emb, e in ((self.pos1_emb, pair_e1), (self.pos2_emb, pair_e2)):
                ids = relative_positions(pos, ent_start[e][:, None], ent_end[e][:, None], self.max_distance)
                parts.append(emb(ids))
        x = (torch.cat(parts, -1) * mask[..., None]).transpose(1, 2)  # (P, D, N)
        pooled = []
        for i, (k, left, w) in enumerate(zip(self.window_sizes, self._left, self.conv_weights)):
            b = self.conv_bias[i * self.n_filters : (i + 1) * self.n_filters]
            y = self.act(F.conv1d(F.pad(x, (left, k - 1 - left)), w, b))  # (P, F, N)
            y = y.masked_fill(~mask[:, None, :], float("-inf"))
            pooled.append(y.max(2).values)
        return torch.cat(pooled, 1)

    def pool_fast(self, words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2):
        """Shared sentence convolution + gathered position tables (see module doc)."""
        S, N = words.shape
        pos = torch.arange(N, device=words.device)
        pad = (pos[None, :] >= lengths[:, None]).index_select(0, ent_sent)[..., None]  # (E, N, 1)
        A = None  # (E, N, Ftot): everything that depends on the sentence and e1
        shared = self._shared_embeddings(words, tags)
        if shared is not None:
            A = self._packed_convolution(shared, lengths, pos).index_select(0, ent_sent)
        if self.pos1_emb is None:
            pooled = pair_max_pool(A.masked_fill(pad, float("-inf")), None, pair_e1, pair_e2)
        else:
            lengths_e = lengths.index_select(0, ent_sent)
            table1, ids1 = self._position_table(self.pos1_emb, self.shared_width, ent_start, ent_end, lengths_e, N)
            table2, ids2 = self._position_table(
                self.pos2_emb, self.shared_width + self.position_width, ent_start, ent_end, lengths_e, N
            )
            pooled = pair_max_pool_tables(A, table1, ids1, table2, ids2, pad, pair_e1, pair_e2)
        return self.act(pooled + self.conv_bias)

    def _packed_convolution(self, x: torch.Tensor, lengths: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Convolution of the [word; tag] channels of all sentences: (S, N, Ftot).

        The sentences are packed into one sequence separated by runs of zeros
        as long as the widest one-sided padding, so each sentence sees exactly
        its own zero padding and no compute goes to padded positions.
        """
        S, N, D = x.shape
        gap = max(self._max_left, self._n_taps - 1 - self._max_left)
        valid = pos[None, :] < lengths[:, None]
        starts = torch.cumsum(lengths + gap, 0) - lengths  # first unit of each sentence
        L = int(starts[-1] + lengths[-1]) + gap
        rows = (starts[:, None] + pos[None, :])[valid]
        packed = x.new_zeros((L, D)).index_copy(0, rows, x[valid]).t()[None]  # (1, D, L)
        outs = [
            F.conv1d(F.pad(packed, (left, k - 1 - left)), w[:, :D])
            for k, left, w in zip(self.window_sizes, self._left, self.conv_weights)
        ]
        Y = torch.cat(outs, 1)[0].t()  # (L, Ftot)
        where = (starts[:, None] + pos[None, :]).clamp(max=L - 1)
        return Y.index_select(0, where.reshape(-1)).view(S, N, -1)

    def _position_table(self, emb, offset, ent_start, ent_end, ent_length, N):
        """Table of (filter tap x relative distance) products for one position channel block,
        and for each entity, position and tap the table row to read.

        ``table[t * (n_dist + 1) + d]`` is the contribution of a unit at
        relative distance id ``d`` seen through tap ``t`` of every filter; row
        ``n_dist`` of each tap is zero and is read for taps outside the
        sentence (exact zero padding). Summing the rows of ``ids[e, n]`` gives
        the convolution of the position embeddings at position ``n`` for
        entity ``e``, shape (E, N, Ftot) after gathering.
        """
        T, max_left, width = self._n_taps, self._max_left, self.position_width
        kernel = torch.cat(
            [
                F.pad(w[:, offset : offset + width], (max_left - left, T - k - (max_left - left)))
                for k, left, w in zip(self.window_sizes, self._left, self.conv_weights)
            ],
            0,
        )  # (Ftot, width, T): tap t reads the unit at offset t - max_left
        n_dist = emb.num_embeddings
        table = torch.einsum("fpt,dp->tdf", kernel, emb.weight)  # (T, n_dist, Ftot)
        table = torch.cat([table, table.new_zeros((T, 1, table.shape[2]))], 1)
        table = table.reshape(T * (n_dist + 1), -1)
        dev = ent_start.device
        src = torch.arange(N, device=dev)[:, None] + torch.arange(T, device=dev)[None, :] - max_left  # (N, T)
        src = src[None]  # (1, N, T)
        ids = relative_positions(src, ent_start[:, None, None], ent_end[:, None, None], self.max_distance)
        valid = (src >= 0) & (src < ent_length[:, None, None])
        ids = torch.where(valid, ids, torch.full_like(ids, n_dist))
        return table, ids + torch.arange(T, device=dev) * (n_dist + 1)
