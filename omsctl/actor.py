"""Who runs omsctl: the actor every command names, for the audit trail (C12, C16)."""

from __future__ import annotations

import getpass
import os

from contracts.envelope import Actor


def who_runs_omsctl() -> Actor:
    """The CSR named by ``OMS_ACTOR_ID`` (``OMS_ACTOR``, its older name, still read), else the
    operating-system user; an on-behalf session from ``OMS_ON_BEHALF_SESSION`` (C16)."""
    name = os.environ.get("OMS_ACTOR_ID") or os.environ.get("OMS_ACTOR") or getpass.getuser()
    return Actor(
        kind="csr", id=name, source="omsctl", on_behalf_session=os.environ.get("OMS_ON_BEHALF_SESSION") or None
    )
