"""Where a tuning study lives: the journal file, or the database OPTUNA_STORAGE names.

A URL's user, password and query never reach a message: `shown_url` keeps the scheme, host and
database, `redacted` removes every piece of the secret parts from a driver's own error text.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

from .errors import TuneError

JOURNAL = Path(".optuna/journal.log")
STORAGE_SCHEMES = ("postgresql", "sqlite")
CREATE_ATTEMPTS = 5


def shown_url(url: str) -> str:
    """`=<scheme>://<host:port>/<database>` of the storage URL: no user, password or query, for messages."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme:
        return " (not a URL)"
    host = parts.netloc.rpartition("@")[2]
    return f"={parts.scheme}://{host}{parts.path}"


def redacted(text: str, url: str) -> str:
    """The text with every piece of the URL's user information and query removed (a driver may quote them)."""
    parts = urllib.parse.urlsplit(url)
    secrets = [parts.netloc.rpartition("@")[0], parts.query]
    pieces = {piece for secret in secrets for piece in re.split(r"[:@&=]", secret) if len(piece) >= 3}
    for piece in sorted(pieces | {s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def open_storage(url: str | None) -> Any:
    """Return the study storage: the database `url` names, else the journal file. Fails if unreachable."""
    import optuna

    if not url:
        from optuna.storages.journal import JournalFileBackend

        JOURNAL.parent.mkdir(exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(JOURNAL)))
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in STORAGE_SCHEMES:
        raise TuneError(
            f"OPTUNA_STORAGE{shown_url(url)}: not a supported database URL; allowed: "
            "postgresql://user:password@host/db or sqlite:///path, or unset for the journal file .optuna/journal.log"
        )
    if scheme == "sqlite" and urllib.parse.urlsplit(url).path in ("", "/", "/:memory:"):
        raise TuneError(
            f"OPTUNA_STORAGE{shown_url(url)}: an in-memory database keeps nothing; give a file, sqlite:///studies.db"
        )
    engine = {"pool_pre_ping": True}
    if scheme == "postgresql":
        engine["connect_args"] = {"connect_timeout": 10}
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine)
        except (IntegrityError, ProgrammingError):
            # Workers starting together on an empty database all create Optuna's tables; the
            # losers of that race see "already exists" and find the tables on the next try.
            if attempt == CREATE_ATTEMPTS - 1:
                raise TuneError(f"OPTUNA_STORAGE{shown_url(url)}: cannot create Optuna's tables") from None
            time.sleep(1 + attempt)
        except Exception as error:  # sqlalchemy's OperationalError, ArgumentError, a missing driver ...
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            reason = redacted(reason, url)
            raise TuneError(f"OPTUNA_STORAGE{shown_url(url)}: cannot open the study storage: {reason}") from None
    raise AssertionError("unreachable")
