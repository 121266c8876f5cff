"""Scoring: the registered scorers, evaluation, the threshold sweep and calibration."""
