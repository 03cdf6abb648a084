"""Scoring: the model file, the pure fold (changes, decay, classes) and its Redis store."""

__all__ = ["changes", "exceptions", "explain", "fold", "judge", "model", "store", "words"]
