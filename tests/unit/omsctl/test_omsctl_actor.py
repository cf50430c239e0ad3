"""C16 (issue 24): omsctl records the CSR the README names, OMS_ACTOR_ID; OMS_ACTOR, its older
name, is still read, and the operating-system user is the last resort."""

from __future__ import annotations

import getpass

import pytest

from omsctl.actor import who_runs_omsctl


def test_c16_omsctl_records_the_actor_from_oms_actor_id_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_ACTOR_ID", "csr-ada")
    monkeypatch.setenv("OMS_ACTOR", "csr-old-name")
    monkeypatch.setenv("OMS_ON_BEHALF_SESSION", "s-1")
    actor = who_runs_omsctl()
    assert (actor.kind, actor.id, actor.source, actor.on_behalf_session) == ("csr", "csr-ada", "omsctl", "s-1")


def test_c16_omsctl_falls_back_to_oms_actor_then_to_the_system_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_ACTOR_ID", raising=False)
    monkeypatch.delenv("OMS_ON_BEHALF_SESSION", raising=False)
    monkeypatch.setenv("OMS_ACTOR", "csr-old-name")
    assert who_runs_omsctl().id == "csr-old-name"
    monkeypatch.delenv("OMS_ACTOR")
    actor = who_runs_omsctl()
    assert actor.id == getpass.getuser() and actor.on_behalf_session is None
