"""Secrets in source URLs: what may be shown, written or remembered.

A camera URL can carry a user and password (``rtsp://user:password@host/stream``) or a token
in its query. Nothing SSA-Pose writes or prints carries them: output headers, table metadata,
error messages and progress bars show :func:`redact`; the app's settings keep :func:`without_password`.
"""
from __future__ import annotations

import re

_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@?#]*)@")
_SECRET_QUERY = re.compile(r"([?&](?:password|passwd|pass|pwd|token|key|secret|auth)=)[^&#]*", re.IGNORECASE)


def redact(spec: str) -> str:
    """``spec`` as it may be shown or written: a URL's user and password become ``***``
    (``rtsp://***@host/stream``), and so do secret-looking query values (``?password=***``).
    Anything that is no URL comes back unchanged."""
    text = str(spec)
    if "://" not in text:
        return text
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


def without_password(spec: str) -> str:
    """``spec`` with a URL's password (and secret query values) removed, the user name kept:
    what may be remembered in settings (``rtsp://user@host/stream``)."""
    text = str(spec)
    if "://" not in text:
        return text
    text = _USERINFO.sub(lambda m: m.group(1) + m.group(2).split(":", 1)[0] + "@", text)
    return _SECRET_QUERY.sub(r"\1", text)


def has_secret(spec: str) -> bool:
    """True if ``spec`` is a URL that carries a password or a secret query value."""
    return without_password(spec) != str(spec)
