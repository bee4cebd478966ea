"""The load generator: how many orders per second the system moves, and how fast staff are answered.

`python -m bench run` (or `oms bench run`) starts its own Temporal dev server, worker
and API processes, drives a baseline workflow and then full orders through them,
and writes the figures to `bench/results/`. `python -m bench scale --open 10000`
measures the worker with many orders waiting at review. See docs/performance.md.
"""
