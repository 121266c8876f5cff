"""The paper's experiments: named variants, cross-validation, imbalance curve."""
