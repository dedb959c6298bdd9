"""Benchmarks for notary (issue 8): ``make bench`` runs :mod:`bench.run`.

Nothing here is imported by the service or the tests; the numbers are written to
``bench/results.md`` and ``bench/results.json``.
"""
