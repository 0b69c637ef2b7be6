"""Loopback fakes of the messengers, for the tests, the demo and the benchmarks."""
