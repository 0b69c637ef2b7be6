"""Benchmarks of the scoring core on a generated, district-sized data set.

``python -m bench`` runs every registered benchmark; ``python -m bench core`` runs one
group. Each benchmark prints one JSON object per line. To add one, write a module with a
``@register("group")`` function (``bench.registry``) that yields one dict per benchmark,
and import that module in ``bench/__main__.py``. ``--check`` verifies the standings
against an independent computation (``bench.check``) after any speed-up.
"""
