"""Benchmarks of the local stack (``python -m bench``; see bench/README.md)."""

import os

# The broker is shared and holds a limited number of quorum queues: the queues of benchmark
# namespaces go away ten minutes after their last use, as the tests' do (tests/conftest.py).
os.environ.setdefault("OMS_QUEUE_EXPIRES_SECONDS", "600")
