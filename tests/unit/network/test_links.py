from cove.engine.networks.links import link_env


def test_docker_link_variables() -> None:
    env = link_env(
        "me",
        "db",
        "mydb",
        "172.17.0.3",
        {"ExposedPorts": {"5432/tcp": {}, "80/tcp": {}}, "Env": ["PATH=/bin", "A=1"]},
    )
    assert env == [
        "DB_NAME=/me/db",
        "DB_PORT=tcp://172.17.0.3:80",
        "DB_PORT_80_TCP=tcp://172.17.0.3:80",
        "DB_PORT_80_TCP_ADDR=172.17.0.3",
        "DB_PORT_80_TCP_PORT=80",
        "DB_PORT_80_TCP_PROTO=tcp",
        "DB_PORT_5432_TCP=tcp://172.17.0.3:5432",
        "DB_PORT_5432_TCP_ADDR=172.17.0.3",
        "DB_PORT_5432_TCP_PORT=5432",
        "DB_PORT_5432_TCP_PROTO=tcp",
        "DB_ENV_A=1",
    ]
