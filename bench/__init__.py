"""Benchmarks of the template and of the project it generates: figures, not tests.

`nox -s bench` runs them all (see bench/__main__.py); each module measures one thing.
"""
