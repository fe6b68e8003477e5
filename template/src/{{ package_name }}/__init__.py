"""Machine-learning pipeline: prepare, validate, train and evaluate a classifier."""
