"""The paper's network as a plain PyTorch module, with two exact forward paths.

Input per unit: [word (200); BIO tag (50); dense encoder vector (optional,
e.g. a transformer's or tok2vec's, 0 by default); position to e1 (50);
position to e2 (50)], each part switchable. Convolution with windows 4..10, 64 filters
each, zero padding to the sentence length ("same": ``(k-1)//2`` zeros on the
left, the rest on the right), non-linearity, max-pooling over the sentence,
a 128-unit hidden layer with dropout, class scores (one per relation label, no
bias, no score for Other) and a 2-way relation-identification head.

Options beyond the paper (off by default): ``entity_features`` adds, per
target entity, its mean unit embedding and its first unit's BIO-tag
embedding beside the pooled vector, before the hidden layer (the lexical
features of Zeng et al. 2014; the same on both paths); ``encoder_entity_features``
adds, per target entity, the mean of the encoder's vectors over its units (the
entity's contextual representation, as pretrained-encoder relation models read
it); ``unit_dropout`` reads each known unit as the unknown one with that
probability in training.

Reference path (``shared_convolution=False``): builds the full input matrix of every pair and
convolves it, exactly as the paper describes.

Fast path (``shared_convolution=True``, default): convolution is linear in its input, so
the convolution over [word; tag; pos1; pos2] is the sum of four convolutions,
one per channel block, and each of those is a sum over filter taps of
``input row x tap weights``. Every input row comes from a small set: the
units of the batch (each distinct one once), the BIO tags, the relative
distances. So the fast path multiplies each distinct row by every tap once
(a "tap table", one matrix product per block), and the convolution output at
a position is a sum of gathered table rows (``embedding_bag``): per sentence
for units and tags, shared by all its pairs, and per entity for the two
position blocks. Taps that fall outside the sentence gather a zero row, which
keeps zero padding exact. A pair's feature map is the sum of its sentence's,
its first entity's and its second entity's parts; it is max-pooled without
being stored (:mod:`.pair_pool`), and max-pooling's gradient goes from each
argmax straight to the table rows it read. A dense channel (real-valued
vectors, no table) is convolved per sentence with an ordinary convolution and
added to the sentence's part: still shared by all pairs of the sentence.

The architecture's settings travel with the weights (``get_extra_state``):
loading weights into a network built with other settings fails with an error
naming the setting. Loading also sizes the vocabulary- and label-sized layers
from the saved weights. The bias is added after pooling
and the non-linearity (tanh or relu, both non-decreasing) is applied after
max-pooling: ``max_i g(x_i + b) == g(max_i x_i + b)``. Same parameters, same
mathematics, far less work per pair.
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from spacy_bio_rel.ml.features import UNK as UNK_ID
from spacy_bio_rel.ml.pair_pool import max_pool_pairs, pair_max_pool_tables
from spacy_bio_rel.ml.prediction_tables import InferenceTables

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def relative_positions(
    pos: torch.Tensor, start: torch.Tensor, end: torch.Tensor, max_distance: int
) -> torch.Tensor:
    """Ids of clipped relative distances: negative before the entity, 0 inside
    ``[start, end)``, positive after it; shifted into ``[0, 2 * max_distance]``."""
    d = torch.where(pos < start, pos - start, torch.where(pos >= end, pos - (end - 1), torch.zeros_like(pos)))
    return d.clamp(-max_distance, max_distance) + max_distance


def _saved_settings(state: dict) -> dict:
    """The settings saved with the weights, under this version's names (models saved by version 0.2
    name ``tok2vec_width`` ``dense_width``)."""
    state = dict(state)
    if "dense_width" in state:
        state.setdefault("tok2vec_width", state.pop("dense_width"))
    return state


class BioTagCNN(nn.Module):
    def __init__(
        self,
        n_words: int = 2,
        n_tags: int = 4,
        n_classes: int = 1,
        *,
        word_width: int,
        tag_width: int,
        position_width: int,
        max_distance: int,
        window_sizes: Sequence[int],
        n_filters: int,
        hidden_width: int,
        dropout: float,
        activation: str,
        use_words: bool,
        use_tags: bool,
        use_positions: bool,
        shared_convolution: bool,
        tok2vec_width: int,
        entity_features: bool,
        unit_dropout: float,
        encoder_entity_features: bool,
    ):
        """The settings are those of ``[components.relation_extractor.model]`` (their defaults are the
        factory's ``default_config``); ``n_words``/``n_tags``/``n_classes`` are sized by
        :meth:`resize` at initialize. ``tok2vec_width``: the width of the encoder's vectors, the dense
        channel (0 for none)."""
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not 0.0 <= unit_dropout < 1.0:
            raise ValueError(f"unit_dropout must be in [0, 1), got {unit_dropout}")
        sizes = {"word_width": word_width, "tag_width": tag_width, "position_width": position_width}
        sizes.update(max_distance=max_distance, n_filters=n_filters, hidden_width=hidden_width)
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"[components.relation_extractor.model] {name} must be a whole number of at least 1, got {value!r}"
                )
        if isinstance(tok2vec_width, bool) or not isinstance(tok2vec_width, int) or tok2vec_width < 0:
            raise ValueError(
                f"[components.relation_extractor.model] tok2vec_width must be 0 or more, got {tok2vec_width!r}"
            )
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:  # NaN fails too
            raise ValueError(
                f"[components.relation_extractor.model] dropout must be in [0, 1), got {dropout!r}"
            )
        if not window_sizes or min(window_sizes) < 1:
            raise ValueError(f"window_sizes must be positive integers, got {list(window_sizes)}")
        self.window_sizes = [int(k) for k in window_sizes]
        self.n_filters = n_filters
        self.max_distance = max_distance
        self.position_width = position_width
        self.activation = activation
        self.act = ACTIVATIONS[activation]
        self.shared_convolution = bool(shared_convolution)
        self.tok2vec_width = int(tok2vec_width)
        self.unit_dropout = float(
            unit_dropout
        )  # training only; not a saved setting (no effect on prediction)
        self.settings = {  # checked on load, in this order
            "use_words": use_words,
            "use_tags": use_tags,
            "use_positions": use_positions,
            "tok2vec_width": self.tok2vec_width,
            "activation": activation,
            "window_sizes": self.window_sizes,
            "n_filters": n_filters,
            "hidden_width": hidden_width,
            "max_distance": max_distance,
            "word_width": word_width,
            "tag_width": tag_width,
            "position_width": position_width,
            "entity_features": bool(entity_features),
            "encoder_entity_features": bool(encoder_entity_features),
        }
        self.word_emb = nn.Embedding(n_words, word_width, padding_idx=0) if use_words else None
        self.tag_emb = nn.Embedding(n_tags, tag_width, padding_idx=0) if use_tags else None
        n_dist = 2 * max_distance + 1
        self.pos1_emb = nn.Embedding(n_dist, position_width) if use_positions else None
        self.pos2_emb = nn.Embedding(n_dist, position_width) if use_positions else None
        self._unit_width = word_width * use_words + tag_width * use_tags
        self._position_width = 2 * position_width * use_positions
        if self._unit_width + self._position_width == 0:
            raise ValueError("At least one of use_words, use_tags, use_positions must be true")
        self.infer_tok2vec_width = False  # set by the architecture: width read from the encoder
        self._build_convolution()
        self.n_pooled = n_filters * len(self.window_sizes)
        self.conv_bias = nn.Parameter(torch.zeros(self.n_pooled))
        # entity features: per target, its mean unit embedding and its first unit's BIO tag
        self.entity_width = (word_width * use_words + tag_width * use_tags) if entity_features else 0
        if entity_features and not self.entity_width:
            raise ValueError("entity_features needs use_words or use_tags: it reads their embeddings")
        self.encoder_entity_features = bool(encoder_entity_features)
        self.hidden_width = hidden_width
        self._build_hidden()
        self.dropout = nn.Dropout(dropout)
        self.class_out = nn.Linear(hidden_width, n_classes, bias=False)
        self.id_out = nn.Linear(hidden_width, 2)
        self._left = [(k - 1) // 2 for k in self.window_sizes]
        self._max_left = max(self._left)
        self._n_taps = max(k - 1 - lo for k, lo in zip(self.window_sizes, self._left)) + self._max_left + 1
        # for every tap: the range of filter columns whose window has that tap
        self._tap_cols = []
        for t in range(self._n_taps):
            cols = [
                i
                for i, (k, left) in enumerate(zip(self.window_sizes, self._left))
                if self._max_left - left <= t < self._max_left - left + k
            ]
            lo, hi = (min(cols), max(cols) + 1) if cols else (0, 0)
            self._tap_cols.append((lo * n_filters, hi * n_filters))
        # without gradients the fast path keeps its tables between calls (see .infer_tables)
        self.prediction_tables = True
        self._tables: Optional[InferenceTables] = None
        self._register_load_state_dict_pre_hook(self._resize_to_state)

    def _build_convolution(self) -> None:
        """(Re)create the convolution weights, whose input width includes the encoder channel."""
        self.shared_width = self._unit_width + self.tok2vec_width
        in_width = self.shared_width + self._position_width
        device = self.conv_weights[0].device if hasattr(self, "conv_weights") else None
        self.conv_weights = nn.ParameterList()
        for k in self.window_sizes:
            w = torch.empty(self.n_filters, in_width, k, device=device)
            bound = 1.0 / (in_width * k) ** 0.5
            nn.init.uniform_(w, -bound, bound)
            self.conv_weights.append(nn.Parameter(w))

    def _build_hidden(self) -> None:
        """(Re)create the hidden layer, whose input holds each target's encoder mean when
        ``encoder_entity_features`` is on (so its width follows the encoder's)."""
        device = self.conv_bias.device
        width = self.entity_width + (self.tok2vec_width if self.encoder_entity_features else 0)
        self.hidden = nn.Linear(self.n_pooled + 2 * width, self.hidden_width).to(device)

    def set_tok2vec_width(self, width: int) -> None:
        """Give the network an encoder channel of ``width`` (fresh convolution weights if it changes)."""
        width = int(width)
        if width < 0:
            raise ValueError(f"tok2vec_width must be 0 or more, got {width}")
        if width != self.tok2vec_width:
            self.tok2vec_width = width
            self.settings["tok2vec_width"] = width
            self._build_convolution()
            if self.encoder_entity_features:
                self._build_hidden()
            self._tables = None

    # -- settings travel with the weights -------------------------------------
    def get_extra_state(self):
        return dict(self.settings)

    def set_extra_state(self, state) -> None:
        state = _saved_settings(state)
        for key in self.settings:
            value = state.get(key, self.settings[key])
            if self.settings[key] != value:
                raise ValueError(
                    f"The saved relation model was trained with {key} = {value!r}, but the config builds it "
                    f"with {key} = {self.settings[key]!r}. Restore the setting in config.cfg "
                    "([components.relation_extractor.model]) or retrain."
                )

    def _resize_to_state(self, state_dict, prefix, *args, **kwargs) -> None:
        """Size the vocabulary- and label-sized layers like the weights being loaded, and the encoder
        channel when its width is read from the encoder (``tok2vec_width = 0`` in the config)."""
        saved = state_dict.get(prefix + "_extra_state")
        if self.infer_tok2vec_width and isinstance(saved, dict):
            width = _saved_settings(saved).get("tok2vec_width")
            if width:
                self.set_tok2vec_width(width)

        def rows(name: str, layer) -> int:
            saved = state_dict.get(prefix + name)
            if saved is not None:
                return saved.shape[0]
            return 0 if layer is None else layer.weight.shape[0]

        self.resize(
            rows("word_emb.weight", self.word_emb),
            rows("tag_emb.weight", self.tag_emb),
            rows("class_out.weight", self.class_out),
        )

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
        token_vectors: Optional[torch.Tensor] = None,
        unit_tokens: Optional[torch.Tensor] = None,
        shared_convolution: Optional[bool] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``token_vectors`` (T, tok2vec_width): the encoder's vectors of the
        batch's tokens; ``unit_tokens`` (S, N): the row each unit reads (-1:
        padding). Both required iff ``tok2vec_width > 0``."""
        use_fast = self.shared_convolution if shared_convolution is None else shared_convolution
        if torch.is_grad_enabled():
            # a training step: the optimiser then changes the weights in place (Thinc assigns
            # ``param.data`` an array it updated in place, which no version counter sees), so the
            # prediction tables are dropped here and rebuilt by the next prediction
            self._tables = None
        dense = self._dense_input(token_vectors, unit_tokens)
        if pair_e1.shape[0] == 0:
            h = self.conv_bias.new_zeros((0, self.hidden.out_features))
            classes, ident = self.class_out(h), self.id_out(h)
            if dense is not None:  # keep the encoder in the graph (zero gradient)
                classes = classes + dense.sum() * 0.0
            return classes, ident
        if self.training and self.unit_dropout and torch.is_grad_enabled():
            words = self.drop_units(words)
        args = (words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2, dense)
        pooled = self.pool_fast(*args) if use_fast else self.pool_reference(*args)
        if self.entity_width or self.encoder_entity_features:
            ents = self.entity_vectors(words, tags, lengths, ent_sent, ent_start, ent_end, dense)
            pooled = torch.cat([pooled, ents.index_select(0, pair_e1), ents.index_select(0, pair_e2)], 1)
        h = self.dropout(self.act(self.hidden(pooled)))
        return self.class_out(h), self.id_out(h)

    def drop_units(self, words: torch.Tensor) -> torch.Tensor:
        """Training only: each known unit is read as the unknown unit with
        probability ``unit_dropout`` (word dropout), so that the network does not
        lean on the names and rare characters of the training text."""
        drop = (torch.rand(words.shape, device=words.device) < self.unit_dropout) & (words > UNK_ID)
        return words.masked_fill(drop, UNK_ID)

    def entity_vectors(self, words, tags, lengths, ent_sent, ent_start, ent_end, dense=None) -> torch.Tensor:
        """Per entity, the features added beside the pooled vector: with ``entity_features``, its
        mean unit embedding and the embedding of its first unit's BIO tag (which names its type),
        the lexical entity features of Zeng et al. (2014); with ``encoder_entity_features``, the
        mean of the encoder's vectors ``dense`` (S, N, tok2vec_width) over its units. Spans are
        clipped to their sentence window."""
        last = (lengths.index_select(0, ent_sent) - 1).clamp(min=0)
        start = torch.minimum(ent_start.clamp(min=0), last)
        end = torch.maximum(torch.minimum(ent_end, last + 1), start + 1)
        span = end - start
        offsets = torch.cumsum(span, 0) - span
        owner = torch.repeat_interleave(torch.arange(span.shape[0], device=span.device), span)
        pos = start.index_select(0, owner) + torch.arange(owner.shape[0], device=span.device) - offsets[owner]
        rows = ent_sent.index_select(0, owner)  # every unit of every entity: (rows, pos)
        parts = []
        if self.entity_width and self.word_emb is not None:
            parts.append(F.embedding_bag(words[rows, pos], self.word_emb.weight, offsets, mode="mean"))
        if self.entity_width and self.tag_emb is not None:
            parts.append(self.tag_emb(tags[ent_sent, start]))
        if self.encoder_entity_features:
            if dense is None:
                raise ValueError("encoder_entity_features needs the encoder's vectors (a tok2vec layer)")
            # the same mean as the units', read from the flat (S * N) rows of the encoder channel
            flat = dense.reshape(-1, dense.shape[-1])
            parts.append(F.embedding_bag(rows * dense.shape[1] + pos, flat, offsets, mode="mean"))
        return torch.cat(parts, 1)

    def _dense_input(self, token_vectors, unit_tokens) -> Optional[torch.Tensor]:
        """(S, N, tok2vec_width) dense channel of each unit, zero for padding."""
        if token_vectors is None or unit_tokens is None:
            if self.tok2vec_width:
                raise ValueError(
                    f"The network has a dense channel of width {self.tok2vec_width}: pass token vectors"
                )
            return None
        if token_vectors.shape[-1] != self.tok2vec_width:
            raise ValueError(
                f"The network expects token vectors of width {self.tok2vec_width}, got {token_vectors.shape[-1]}"
            )
        valid = unit_tokens >= 0
        rows = (
            token_vectors.new_zeros((1, self.tok2vec_width)) if token_vectors.shape[0] == 0 else token_vectors
        )
        return rows[unit_tokens.clamp(min=0)] * valid[..., None].to(rows.dtype)

    def _shared_embeddings(
        self, words: torch.Tensor, tags: torch.Tensor, dense=None
    ) -> Optional[torch.Tensor]:
        parts = []
        if self.word_emb is not None:
            parts.append(self.word_emb(words))
        if self.tag_emb is not None:
            parts.append(self.tag_emb(tags))
        if dense is not None:
            parts.append(dense)
        return torch.cat(parts, -1) if parts else None

    def pool_reference(
        self, words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2, dense=None
    ):
        """Per pair: the full input matrix, convolution, g, max-pooling."""
        pair_sent = ent_sent[pair_e1]
        N = words.shape[1]
        pos = torch.arange(N, device=words.device)[None, :]
        mask = pos < lengths[pair_sent][:, None]  # (P, N)
        parts = []
        shared = self._shared_embeddings(
            words[pair_sent], tags[pair_sent], None if dense is None else dense[pair_sent]
        )
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

    def pool_fast(self, words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2, dense=None):
        """Tap tables + gathered sums + pair max-pooling (see module doc)."""
        if self.prediction_tables and not torch.is_grad_enabled():
            return self.pool_predict(
                words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2, dense
            )
        N = words.shape[1]
        lengths_e = lengths.index_select(0, ent_sent)
        blocks = self.kernel_blocks()
        sources = []
        if self.word_emb is not None:
            uniq, inv = torch.unique(words, return_inverse=True)  # only the units in this batch
            sources.append(self._tap_table(self.word_emb(uniq), blocks["word"]))
            sources.append(self._tap_ids(self._unit_rows(inv), lengths, len(uniq)))
        else:
            sources += [None, None]
        if self.tag_emb is not None:
            sources.append(self._tap_table(self.tag_emb.weight, blocks["tag"]))
            sources.append(self._tap_ids(self._unit_rows(tags), lengths, self.tag_emb.num_embeddings))
        else:
            sources += [None, None]
        dense_map = self._dense_map(dense, blocks["dense"]) if self.tok2vec_width else None
        if self.pos1_emb is not None:
            # only the distances a sentence of N units can produce
            lo = max(0, self.max_distance - (N - 1))
            hi = min(self.pos1_emb.num_embeddings, self.max_distance + N)
            ids = self._tap_ids(self._distance_rows(ent_start, ent_end, N) - lo, lengths_e, hi - lo)
            for emb, name in ((self.pos1_emb, "pos1"), (self.pos2_emb, "pos2")):
                sources += [self._tap_table(emb.weight[lo:hi], blocks[name]), ids]
        else:
            sources += [None, None, None, None]
        pooled = pair_max_pool_tables(
            *sources, ent_sent, lengths_e, pair_e1, pair_e2, self._tap_cols, dense_map
        )
        return self.act(pooled + self.conv_bias)

    def pool_predict(self, words, tags, lengths, ent_sent, ent_start, ent_end, pair_e1, pair_e2, dense=None):
        """The fast path without gradients: tables kept between calls, position
        blocks folded over the taps (:mod:`.infer_tables`), max without argmax."""
        if self._tables is None:
            self._tables = InferenceTables()
        tables = self._tables
        N = words.shape[1]
        tables.refresh(self, N)
        lengths_e = lengths.index_select(0, ent_sent)
        C = tables.sentence_part(self, words, tags, lengths)
        if self.tok2vec_width:
            D = self._dense_map(dense, tables.blocks["dense"])
            C = D if C is None else C.add_(D)
        A = None if C is None else C.index_select(0, ent_sent)
        B = None
        if self.pos1_emb is not None:
            P1, B = tables.position_parts(self, ent_start, ent_end, lengths_e, N)
            A = P1.contiguous() if A is None else A.add_(P1)
        # padding never wins the max: -inf on the padded rows only (few, once Docs are grouped by length)
        pad = (torch.arange(N, device=A.device)[None, :] >= lengths_e[:, None]).view(-1).nonzero().squeeze(1)
        A.view(-1, A.shape[2]).index_fill_(0, pad, float("-inf"))
        pooled, _ = max_pool_pairs(A, B, pair_e1, pair_e2, lengths_e, with_argmax=False)
        return self.act(pooled + self.conv_bias)

    def _dense_map(self, dense: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Ordinary convolution of the dense channel over each sentence: (S, N, Ftot).

        ``kernel`` (width, T, Ftot) over the common taps; padding rows of
        ``dense`` are zero and taps outside the window read zeros, as in the
        reference path.
        """
        T, left = self._n_taps, self._max_left
        x = F.pad(dense.transpose(1, 2), (left, T - 1 - left))  # (S, W, N + T - 1)
        return F.conv1d(x, kernel.permute(2, 0, 1)).transpose(1, 2)

    def kernel_blocks(self) -> Dict[str, torch.Tensor]:
        """:meth:`_tap_kernel` split by input block: ``word``, ``tag``, ``dense``,
        ``pos1``, ``pos2`` (the blocks the network has), each (width, T, Ftot)."""
        parts = [
            ("word", self.word_emb),
            ("tag", self.tag_emb),
            ("dense", self.tok2vec_width or None),
            ("pos1", self.pos1_emb),
            ("pos2", self.pos2_emb),
        ]
        present = [(name, part) for name, part in parts if part is not None]
        widths = [self.tok2vec_width if name == "dense" else part.embedding_dim for name, part in present]
        return dict(zip([name for name, _ in present], torch.split(self._tap_kernel(), widths, 0)))

    def _tap_kernel(self) -> torch.Tensor:
        """All windows' filters as one (in_width, T, Ftot) tensor over T common taps.

        Tap ``t`` reads the unit at offset ``t - max_left``; a filter whose
        window lacks the tap has zero weight there.
        """
        T, max_left = self._n_taps, self._max_left
        return torch.cat(
            [
                F.pad(w.permute(1, 2, 0), (0, 0, max_left - left, T - k - (max_left - left)))
                for k, left, w in zip(self.window_sizes, self._left, self.conv_weights)
            ],
            2,
        )

    @staticmethod
    def _tap_table(rows: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Products of input rows with every filter tap, laid out for gathering.

        ``rows`` (R, width) are the input vectors of one channel block
        (embeddings of units, tags or relative distances), ``kernel`` (width,
        T, Ftot) that block's filter weights. Row ``r * T + t`` of the result is
        the contribution of input row ``r`` seen through tap ``t`` of every
        filter; rows ``R * T + t`` are zero and are read for taps outside the
        sentence (exact zero padding).
        """
        width, T, F_ = kernel.shape
        rows = torch.cat([rows, rows.new_zeros((1, width))], 0)
        return (rows @ kernel.reshape(width, T * F_)).view(rows.shape[0] * T, F_)

    def _tap_sources(self, N: int, device) -> torch.Tensor:
        """(N, T): the position read by tap ``t`` at position ``n`` (may fall outside ``[0, N)``)."""
        return (
            torch.arange(N, device=device)[:, None]
            + torch.arange(self._n_taps, device=device)
            - self._max_left
        )

    def _tap_ids(self, rows: torch.Tensor, lengths: torch.Tensor, R: int) -> torch.Tensor:
        """Table rows to sum for every (sequence, position): (B, N, T).

        ``rows[b, n, t]`` is the input row read by tap ``t`` at position
        ``n`` of sequence ``b`` (any value where that unit is outside the
        sequence); taps outside the sequence read the zero row ``R``.
        """
        B, N, T = rows.shape
        src = self._tap_sources(N, rows.device)
        valid = (src >= 0) & (src < lengths[:, None, None])
        rows = torch.where(valid, rows, torch.full_like(rows, R))
        return rows * T + torch.arange(T, device=rows.device)

    def _unit_rows(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` (S, N) of each sentence's units, read through every tap: (S, N, T)."""
        S, N = ids.shape
        src = self._tap_sources(N, ids.device).clamp(0, max(N - 1, 0))
        return ids.gather(1, src.reshape(1, -1).expand(S, -1)).view(S, N, self._n_taps)

    def _distance_rows(self, ent_start: torch.Tensor, ent_end: torch.Tensor, N: int) -> torch.Tensor:
        """Relative-distance ids of the unit read by every tap, per entity: (E, N, T)."""
        src = self._tap_sources(N, ent_start.device)[None]
        return relative_positions(src, ent_start[:, None, None], ent_end[:, None, None], self.max_distance)
