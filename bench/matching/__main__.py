"""``python -m bench.matching``: see bench/matching/run.py."""

import asyncio

from .run import main

asyncio.run(main())
