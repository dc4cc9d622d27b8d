"""Errors the ganwatch client raises. Each carries a ``GW_ERR_*`` code registered in protocol/errors.ts, and the
message that registry gives it, so a code found in a log can be searched for on both sides."""

from __future__ import annotations


class GanwatchError(Exception):
    """Any error of the ganwatch client: ``code`` is the registry code, ``message`` the text after it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InputError(GanwatchError, ValueError, TypeError):
    """An argument the server would refuse (bad shape, type, name or range). Raised before anything is recorded, so
    nothing is stored or sent. It is both a ValueError and a TypeError, so either ``except`` catches it."""

    def __init__(self, detail: str) -> None:
        super().__init__("GW_ERR_MONITOR_INPUT", f"Monitor client: {detail}")


class OptionError(GanwatchError, ValueError):
    """A bad option to ganwatch.init() or the sync command (server address, spool folder, ...)."""

    def __init__(self, detail: str) -> None:
        super().__init__("GW_ERR_OPTION", f"Invalid option: {detail}")


class ServerError(GanwatchError):
    """The server could not be reached or refused a request the client cannot do without (creating a run)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__("GW_ERR_SERVER", f"Server {url}: {detail}")


class RunNotFoundError(GanwatchError):
    """``resume=`` names a run that no server knows and the spool does not hold."""

    def __init__(self, run_id: str) -> None:
        super().__init__("GW_ERR_RUN_NOT_FOUND", f"Run '{run_id}' does not exist")


class SpoolError(GanwatchError):
    """The spool folder cannot be used (another process holds it, or the disk refuses)."""

    def __init__(self, folder: str, detail: str) -> None:
        super().__init__("GW_ERR_SPOOL", f"Spool folder '{folder}': {detail}")


def server_error_of(code: str | None, message: str) -> GanwatchError:
    """An error the server answered with (its own code and message), for reporting."""
    return GanwatchError(code or "GW_ERR_SERVER", message)
