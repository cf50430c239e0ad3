"""Benchmarks of the local stack (``python -m bench``; see bench/README.md)."""

import os

# The broker is shared and holds a limited number of quorum queues: the queues of benchmark
# namespaces go away ten minutes after their last use, as the tests' do (tests/conftest.py).
os.environ.setdefault("OMS_QUEUE_EXPIRES_SECONDS", "600")

# The customer and notification services refuse to start without the key their emailed links
# are sealed with (plumbing/sealing.py); the services of one benchmark run share one.
if not os.environ.get("OMS_LINK_KEY"):
    from cryptography.fernet import Fernet

    os.environ["OMS_LINK_KEY"] = Fernet.generate_key().decode()
