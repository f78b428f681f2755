"""The request dispatcher's remembered answers (tnth_emulator/dispatch.py) are moto's answers.

The `aws` fixture installs the extension, patches included."""

from __future__ import annotations

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from tnth_emulator import dispatch

HOSTS = [
    "sqs.us-east-1.amazonaws.com",
    "autoscaling.eu-west-1.amazonaws.com",
    "ec2.us-east-1.amazonaws.com",
    "moto_api",
    "sqs",
    "not-a-service.example",
    None,
]


@pytest.mark.usefixtures("aws")
def test_the_backend_remembered_for_a_host_is_the_one_moto_picks() -> None:
    app = DomainDispatcherApplication(create_backend_app)

    for _ in range(2):
        picked = [app.get_backend_for_host(host) for host in HOSTS]
        assert picked == [dispatch._original_get_backend_for_host(app, host) for host in HOSTS]
    assert picked[:3] == ["sqs", "autoscaling", "ec2"]


@pytest.mark.usefixtures("aws")
def test_the_module_list_is_moto_s_and_made_once() -> None:
    assert list(dispatch.list_of_moto_modules()) == list(dispatch._original_list_of_moto_modules())
    assert dispatch.list_of_moto_modules() is dispatch.list_of_moto_modules()


@pytest.mark.usefixtures("aws")
def test_remembered_hosts_stay_bounded() -> None:
    app = DomainDispatcherApplication(create_backend_app)

    for index in range(dispatch.MAX_REMEMBERED_HOSTS + 10):
        app.get_backend_for_host(f"sqs.region-{index}.amazonaws.com")

    assert len(app.__dict__["_tnth_backend_for_host"]) <= dispatch.MAX_REMEMBERED_HOSTS
