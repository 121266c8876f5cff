"""The variants the paper reports, each a set of overrides of one base config."""

from typing import Dict, List

C = "components.relation_extractor"


def _variant(tags: bool, mtl: bool, loss: str = "ranking") -> Dict[str, object]:
    return {f"{C}.model.use_tags": tags, f"{C}.multitask": mtl, f"{C}.classification_loss": loss}


VARIANTS: Dict[str, Dict[str, object]] = {
    # Tables 1 and 2
    "baseline": _variant(False, False),
    "tag": _variant(True, False),
    "mtl": _variant(False, True),
    "mtl_tag": _variant(True, True),
    # Table 4 (with "tag" = Baseline+Tag with ranking loss, "mtl_tag" = with MTL and ranking loss)
    "tag_ce": _variant(True, False, "cross_entropy"),
    "tag_ce_ranking": _variant(True, False, "both"),
    "mtl_tag_ce": _variant(True, True, "cross_entropy"),
}

TITLES = {
    "baseline": "Baseline",
    "tag": "Baseline+Tag",
    "mtl": "Baseline+MTL",
    "mtl_tag": "Baseline+MTL+Tag",
    "tag_ce": "Baseline+Tag, CE",
    "tag_ce_ranking": "Baseline+Tag, CE+ranking",
    "mtl_tag_ce": "Baseline+MTL+Tag, CE",
}

ABLATION = ["baseline", "tag", "mtl", "mtl_tag"]
LOSS_TABLE = ["tag", "tag_ce", "tag_ce_ranking", "mtl_tag", "mtl_tag_ce"]
GROUPS = {"ablation": ABLATION, "loss": LOSS_TABLE}

# The paper's ACE 2005 figures (P, R, F1 %), for the tables we print next to ours.
PAPER = {
    "ace05-en": {
        "baseline": (58.8, 57.3, 57.2),
        "tag": (61.3, 76.7, 67.4),
        "mtl": (63.8, 56.1, 59.5),
        "mtl_tag": (66.5, 71.8, 68.9),
    },
    "ace05-zh": {
        "baseline": (48.5, 57.1, 51.7),
        "tag": (61.8, 62.7, 61.4),
        "mtl": (56.7, 52.9, 53.8),
        "mtl_tag": (61.3, 65.8, 62.9),
        "tag_ce": (67.7, 57.8, 61.5),
        "tag_ce_ranking": (63.2, 62.1, 61.7),
        "mtl_tag_ce": (61.6, 62.0, 62.0),
    },
}


def resolve(names: List[str]) -> List[str]:
    """Variant names (or group names ``ablation``/``loss``) -> variant names, checked."""
    out: List[str] = []
    for name in names:
        for v in GROUPS.get(name, [name]):
            if v not in VARIANTS:
                raise ValueError(f"Unknown variant {v!r}; choose from {sorted(VARIANTS)} or {sorted(GROUPS)}")
            if v not in out:
                out.append(v)
    return out
