"""The login for a private ``git://`` build context, from an Airflow Connection (any conn type: login, password)."""

from __future__ import annotations

from typing import Any, NamedTuple

from airflow.providers.common.compat.sdk import BaseHook
from airflow_kaniko.errors import KanikoSpecError


class GitLogin(NamedTuple):
    """What Kaniko's git clone reads from ``GIT_USERNAME`` and ``GIT_PASSWORD``; host is unused ("")."""

    host: str
    login: str
    password: str


class GitHook(BaseHook):
    """A git server's login. Kaniko clones from the context URL, so the connection's host is not read.

    :param git_conn_id: the connection, with a login and a password (or token).
    """

    conn_name_attr = "git_conn_id"
    default_conn_name = "git_default"
    conn_type = "git"
    hook_name = "Git (Kaniko build context)"

    def __init__(self, git_conn_id: str = default_conn_name, field: str = conn_name_attr, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.git_conn_id = git_conn_id
        self.field = field  # the parameter that named the connection, for errors

    def get_conn(self) -> GitLogin:
        return self.login()

    def login(self) -> GitLogin:
        """The login and password, both set."""
        conn = self.get_connection(self.git_conn_id)
        login = GitLogin("", conn.login or "", conn.password or "")
        missing = [name for name in ("login", "password") if not getattr(login, name)]
        if missing:
            raise KanikoSpecError(self.field, self.git_conn_id, f"has no {' or '.join(missing)}")
        return login
