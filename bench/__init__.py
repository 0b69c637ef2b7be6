"""Benchmarks of the scoring core on a generated, district-sized data set.

``python -m bench`` runs every registered benchmark; ``python -m bench core`` runs one
group. Each benchmark prints one JSON object per line.
"""
