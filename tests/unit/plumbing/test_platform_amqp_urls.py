"""P5 on a cluster: OMS_AMQP_URL lists the broker's nodes, comma-separated (plumbing.amqp)."""

from __future__ import annotations

import pytest

from plumbing.amqp import ClusterRabbitBroker, amqp_urls, cluster_connection_class


def test_p5_one_url_is_a_cluster_of_one() -> None:
    assert amqp_urls("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]


def test_p5_several_urls_keep_their_order_and_drop_blanks() -> None:
    value = " amqp://u:p@n1:5681/vh , amqps://u:p@n2:5671/vh,,amqp://u:p@n3/vh "
    assert amqp_urls(value) == ["amqp://u:p@n1:5681/vh", "amqps://u:p@n2:5671/vh", "amqp://u:p@n3/vh"]


@pytest.mark.parametrize("value", ["", " , ", "http://n1:5672/", "amqp:///vh"])
def test_p5_what_is_not_a_broker_url_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        amqp_urls(value)


def test_p5_a_refused_url_does_not_show_its_password() -> None:
    with pytest.raises(ValueError) as error:
        amqp_urls("amqp://u:p@n1:5672/,http://user:s3cret@n2/")
    assert "s3cret" not in str(error.value)


def test_p5_the_broker_connects_with_a_connection_class_that_knows_every_node() -> None:
    broker = ClusterRabbitBroker("amqp://guest:guest@127.0.0.1:5681/,amqp://guest:guest@127.0.0.1:5682/")
    assert broker.amqp_urls == ["amqp://guest:guest@127.0.0.1:5681/", "amqp://guest:guest@127.0.0.1:5682/"]
    connection_class = broker._connection_kwargs["connection_class"]  # noqa: SLF001
    assert connection_class.URLS == tuple(broker.amqp_urls)
    assert cluster_connection_class("amqp://h1/,amqp://h2/").URLS == ("amqp://h1/", "amqp://h2/")
