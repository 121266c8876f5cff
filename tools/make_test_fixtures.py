"""Build the ACE-format test fixtures (tests/fixtures/ace/); text written for the project.

python tools/make_test_fixtures.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ace_writer import write_document  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "tests" / "fixtures" / "ace"

EN = (
    "FIX_EN_001",
    "[E1-1 {Acme & Sons}] opens an office",
    [
        "[E2-1 {Jo Reed}], [E2-2 the {head} of [E1-2 {Acme & Sons}]], lives in [E3-1 {Brackton}].",
        "[E3-2 {Brackton}] said [E4-1 {its} {council}] backs the plan. "
        "[E2-3 {She}] flew on [E5-1 {Norland}]Air [T1-1 {yesterday}].",
        "[E6-1 {Max Reed}] is [E6-2 {her} {brother}].",
    ],
    {
        "E1": ("ORG", "Commercial"),
        "E2": ("PER", "Individual"),
        "E3": ("GPE", "Population-Center"),
        "E4": ("ORG", "Government"),
        "E5": ("ORG", "Commercial"),
        "E6": ("PER", "Individual"),
    },
    [
        ("R1", "ORG-AFF", "Employment", "E2-2", "E1-2"),
        ("R2", "PHYS", "Located", "E2-1", "E3-1"),
        ("R3", "METONYMY", "", "E3-2", "E4-1"),
        ("R4", "PER-SOC", "Family", "E2-3", "E6-1"),
        ("R5", "ORG-AFF", "Employment", "E2-3", "E5-1", "Time-Within", "T1-1"),
    ],
)

ZH = (
    "FIX_ZH_001",
    "[E1-1 {王明}]的新工作",
    [
        "[E1-2 {王明}]在[E2-1 {北京}]工作。[E1-3 {他}]是[E3-1 [E2-2 {北京}]{大学}]的老师！",
        "[E4-1 {李华}]是[E1-4 {王明}]的妻子？",
    ],
    {
        "E1": ("PER", "Individual"),
        "E2": ("GPE", "Population-Center"),
        "E3": ("ORG", "Educational"),
        "E4": ("PER", "Individual"),
    },
    [
        ("R1", "PHYS", "Located", "E1-2", "E2-1"),
        ("R2", "ORG-AFF", "Employment", "E1-3", "E3-1"),
        ("R3", "PER-SOC", "Family", "E4-1", "E1-4"),
    ],
)


def main() -> None:
    write_document(ROOT / "data" / "English" / "nw" / "timex2norm", *EN)
    write_document(ROOT / "data" / "Chinese" / "nw" / "adj", *ZH)
    print(f"Wrote fixtures under {ROOT}")


if __name__ == "__main__":
    main()
