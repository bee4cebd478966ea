"""The worker process and the one way every process connects to Temporal."""
