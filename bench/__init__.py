"""`make bench`: throughput and latency of the engine's hot paths, against the targets of
issue 4 (see docs/benchmark.md). Not part of the app; nothing here is imported by webapp."""
