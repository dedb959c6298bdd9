"""Where server-side commands find the service's data: exactly where ``notary run`` keeps it
(``Settings.from_env()``: ``NOTARY_HOME``, default ``./var``).

Only the commands that set a deployment up (``run``, ``chain``, ``anchor``, ``doctor``,
``contract deploy``, and ``db upgrade`` of an explicitly named NOTARY_DATABASE_URL) may
create it. Every other server-side command refuses when the home holds no service: a key
created in a fresh ``./var`` by mistake would be one the running service answers with 401.
"""

from __future__ import annotations

from notary.config import Settings
from notary.core.errors import InputError


class HomeNotInitialised(InputError):
    default_code = "home_not_initialised"


def require_home(settings: Settings, *, database: bool = True) -> Settings:
    """``settings`` if its home holds a service's signing key (and, with ``database``, its
    SQLite database unless NOTARY_DATABASE_URL names another); HomeNotInitialised otherwise."""
    missing = []
    if not (settings.keys_dir / "signing-key.pem").is_file():
        missing.append("no signing key in keys/")
    if database and settings.database_url is None and not (settings.home / "notary.db").is_file():
        missing.append("no notary.db")
    if missing:
        raise HomeNotInitialised(
            f"未找到已初始化的数据目录 / no initialised NOTARY_HOME at {settings.home} "
            f"({', '.join(missing)}). Point at the service's data with "
            "NOTARY_HOME=/path/to/its/home (the folder `notary run` printed as 'data:'), "
            "or start the service there once with `notary run`.",
            home=str(settings.home))
    return settings


def server_settings(*, database: bool = True) -> Settings:
    """The service's settings for a server-side command that must not initialise anything."""
    return require_home(Settings.from_env(), database=database)
