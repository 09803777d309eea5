import json

import pytest

from airflow_kaniko.hooks.airflow_api import AirflowApiHook, ApiLogin, set_dag_run_note


def api_conn(host: str, **fields: object) -> str:
    return json.dumps({"conn_type": "http", "host": host, "login": "admin", "password": "pw-api", **fields})


def test_base_url_from_schema_host_and_port(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("api-server", port=8080))
    assert AirflowApiHook().login() == ApiLogin("http://api-server:8080", "admin", "pw-api")
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("airflow.example.com", schema="https"))
    assert AirflowApiHook().login().base_url == "https://airflow.example.com"


def test_no_connection_sets_no_note(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_API", raising=False)
    assert set_dag_run_note("dag", "run", "note", conn_id="no_such_api") is False


def test_incomplete_connection_is_refused(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", json.dumps({"conn_type": "http", "host": "api-server", "login": "admin"}))
    with pytest.raises(ValueError, match="needs a host, a login and a password"):
        AirflowApiHook().login()


def test_userinfo_in_the_host_is_refused_without_echo(monkeypatch):
    """The base URL is logged; a login in the host would be logged with it."""
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("robot:pw-in-host@api-server"))
    with pytest.raises(ValueError, match="userinfo") as info:
        AirflowApiHook().login()
    assert "pw-in-host" not in str(info.value) and "robot" not in str(info.value)


TOKEN = "tok-note-123"


class ApiDouble:
    """An Airflow API server on loopback: /auth/token and the DAG run PATCH, each answering a chosen status."""

    def __init__(self, login_status=201, patch_status=200):
        self.login_status, self.patch_status = login_status, patch_status
        self.login_body: object = {"access_token": TOKEN}
        self.requests: list[tuple[str, str, dict]] = []


@pytest.fixture
def api_server(monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    double = ApiDouble()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            double.requests.append((self.command, self.path, {**body, "auth": self.headers["Authorization"]}))

        def do_POST(self):
            self._record()
            # a refusal that echoes the password: the warning must not carry the body
            self._answer(double.login_status, double.login_body if double.login_status < 400 else {"detail": "bad pw-api"})

        def do_PATCH(self):
            self._record()
            self._answer(double.patch_status, {"note": "x"} if double.patch_status < 400 else {"detail": f"token {TOKEN}"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("127.0.0.1", port=server.server_address[1]))
    double.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield double
    server.shutdown()
    server.server_close()


def note_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "airflow_kaniko.hooks.airflow_api" and r.levelname == "WARNING"]


def assert_no_secret(caplog):
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "pw-api" not in logged and TOKEN not in logged


def test_the_note_is_written_with_the_token_of_the_login(api_server, caplog):
    caplog.set_level("INFO", logger="airflow_kaniko.hooks.airflow_api")
    assert set_dag_run_note("my dag", "manual__1", "**done**") is True
    assert api_server.requests == [
        ("POST", "/auth/token", {"username": "admin", "password": "pw-api", "auth": None}),
        (
            "PATCH",
            "/api/v2/dags/my%20dag/dagRuns/manual__1?update_mask=note",
            {"note": "**done**", "auth": f"Bearer {TOKEN}"},
        ),
    ]
    assert note_warnings(caplog) == []


def test_a_refused_login_is_a_warning_naming_the_login_not_a_failure(api_server, caplog):
    api_server.login_status = 401
    assert set_dag_run_note("dag", "run", "note") is False
    assert note_warnings(caplog) == [
        f"The DAG run's note is not set: conn_id='airflow_api': the login as 'admin' (POST {api_server.base}/auth/token) "
        "answered HTTP 401 Unauthorized"
    ]
    assert [r[0] for r in api_server.requests] == ["POST"]  # no write without a token
    assert_no_secret(caplog)


def test_a_refused_write_is_a_warning_naming_the_write_not_a_failure(api_server, caplog):
    api_server.patch_status = 403
    assert set_dag_run_note("dag", "run", "note") is False
    assert note_warnings(caplog) == [
        f"The DAG run's note is not set: conn_id='airflow_api': the note's write (PATCH {api_server.base}"
        "/api/v2/dags/dag/dagRuns/run) answered HTTP 403 Forbidden"
    ]
    assert_no_secret(caplog)


def test_a_login_answer_without_a_token_is_a_warning(api_server, caplog):
    api_server.login_body = {"token": "elsewhere"}
    assert set_dag_run_note("dag", "run", "note") is False
    assert note_warnings(caplog) == [
        f"The DAG run's note is not set: conn_id='airflow_api': the login as 'admin' (POST {api_server.base}/auth/token): "
        "the answer is not the expected JSON (KeyError)"
    ]


def test_an_unreachable_api_server_is_a_warning(monkeypatch, caplog):
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("127.0.0.1", port=port))
        assert set_dag_run_note("dag", "run", "note") is False
    (warning,) = note_warnings(caplog)
    assert warning.startswith(
        f"The DAG run's note is not set: conn_id='airflow_api': the login as 'admin' (POST http://127.0.0.1:{port}/auth/token) "
        "failed: ConnectError: "
    )
    assert_no_secret(caplog)


def test_an_incomplete_connection_is_a_warning_naming_it(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", json.dumps({"conn_type": "http", "host": "api-server", "login": "admin"}))
    assert set_dag_run_note("dag", "run", "note") is False
    assert note_warnings(caplog) == [
        "The DAG run's note is not set: conn_id='airflow_api': "
        "the connection to the Airflow API needs a host, a login and a password"
    ]
