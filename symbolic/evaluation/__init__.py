"""Evaluation: symbolic metrics (MusPy's definitions), set comparisons, and the evaluation report."""

from symbolic.evaluation.compare import frechet_distance, longest_copied_span, ngram_overlap, overlapping_area
from symbolic.evaluation.metrics import METRIC_NAMES, all_metrics

__all__ = ["all_metrics", "METRIC_NAMES", "overlapping_area", "frechet_distance", "longest_copied_span",
           "ngram_overlap"]
