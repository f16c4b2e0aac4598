"""The seed API (``mega-api.md``): exact names, arguments and return shapes, over the service.

Return conventions (docs/product.md): list getters ``(list_of_dicts, code)``, single getters
``(dict_or_None, code)``, ``add_*``/``mod_*``/``del_*`` a bare ``code``; the HA-record functions
``True``/``False`` or a record id/``None``.  Codes: 0 success, 1 not found, 2 invalid, 3 conflict,
-1 internal error.  Every call is logged with its ``model`` (caller) when it has one.

The service behind these functions is built on first use from the environment (``MEGA_*``), or
set explicitly with :func:`bind` (``mega serve`` does).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mega.errors import Code, InvalidArgument, MegaError, code_of

log = logging.getLogger("mega.api")

_lock = threading.Lock()
_service: Any = None
F = TypeVar("F", bound=Callable[..., Any])


def bind(service: Any) -> None:
    """Use ``service`` (a :class:`mega.service.Service`) for every call from now on."""
    global _service
    with _lock:
        _service = service


def service() -> Any:
    """The bound service, built from the environment's settings on first use."""
    global _service
    if _service is None:
        with _lock:
            if _service is None:
                from mega.service import Service
                from mega.settings import load_settings

                svc = Service(load_settings())
                svc.store.upgrade()
                _service = svc
    return _service


def _logged(name: str, model: Any, outcome: Any, started: float, exc: BaseException | None) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    if exc is None:
        log.info("%s model=%s code=%s %.1fms", name, model, outcome, elapsed)
    elif isinstance(exc, MegaError):
        log.warning("%s model=%s code=%s %.1fms: %s", name, model, outcome, elapsed, exc)
    else:
        log.error("%s model=%s failed: %s", name, model, exc, exc_info=exc)


def _seed(shape: str) -> Callable[[F], F]:
    """Wrap a seed function: map exceptions to codes in the given return ``shape``.

    ``list``: ``(rows, code)``; ``one``: ``(row_or_None, code)``; ``code``: a bare code;
    ``bool``: True/False; ``id``: an int or None.
    """

    def deco(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                model = sig.bind_partial(*args, **kwargs).arguments.get("model")
            except TypeError:
                model = None
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # the API edge: every error becomes a code
                code = int(code_of(exc))
                _logged(fn.__name__, model, code, started, exc)
                return {"list": ([], code), "one": (None, code), "code": code, "bool": False, "id": None}[shape]
            _logged(fn.__name__, model, 0, started, None)
            if shape == "list":
                return result, int(Code.OK)
            if shape == "one":
                return result, int(Code.OK)
            if shape == "code":
                return int(Code.OK)
            return result

        wrapper.__seed_shape__ = shape  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


# --- resource pool -----------------------------------------------------------------------------


@_seed("list")
def get_all_instance(model=None, stat=0, count=0):  # type: ignore[no-untyped-def]
    """All instances: ``(list_of_dicts, code)``; stat 0 all, 1 online, 2 offline; count 0 = all."""
    return service().list_instances(stat, count)


@_seed("list")
def get_all_server(model=None, stat=0, count=0):  # type: ignore[no-untyped-def]
    """All servers: ``(list_of_dicts, code)``."""
    return service().list_servers(stat, count)


@_seed("list")
def get_all_db(model=None, stat=0, count=0):  # type: ignore[no-untyped-def]
    """All databases: ``(list_of_dicts, code)``."""
    return service().list_databases(stat, count)


@_seed("one")
def get_instance(model=None, ip=None, port=3306):  # type: ignore[no-untyped-def]
    """One instance: ``(dict, 0)``, ``(None, 1)`` when unknown, ``(None, 2)`` on a bad address."""
    return service().get_instance(ip, port)


@_seed("one")
def get_database(model=None, ip=None, port=3306, db=None):  # type: ignore[no-untyped-def]
    """One database of an instance: ``(dict, code)``."""
    return service().get_database(ip, port, db)


@_seed("one")
def get_server(model=None, ip=None):  # type: ignore[no-untyped-def]
    """One server: ``(dict, code)``."""
    return service().get_server(ip)


@_seed("code")
def add_server(ip, **args):  # type: ignore[no-untyped-def]
    """Add a server; keys server_name, server_online, server_owner, server_os (server_stat)."""
    service().add_server(ip, args)


@_seed("code")
def mod_server(ip, **args):  # type: ignore[no-untyped-def]
    """Modify a server; at least one key."""
    service().mod_server(ip, args)


@_seed("code")
def del_server(ip):  # type: ignore[no-untyped-def]
    """Take a server offline (soft delete); 3 while it has online instances."""
    service().del_server(ip)


@_seed("code")
def add_instance(ip, port, **args):  # type: ignore[no-untyped-def]
    """Add an instance (the server is created when missing)."""
    service().add_instance(ip, port, args)


@_seed("code")
def mod_instance(ip, port, **args):  # type: ignore[no-untyped-def]
    """Modify an instance; at least one key."""
    service().mod_instance(ip, port, args)


@_seed("code")
def del_instance(ip, port):  # type: ignore[no-untyped-def]
    """Take an instance offline (soft delete); 3 while it has online databases or masters a group."""
    service().del_instance(ip, port)


@_seed("code")
def add_database(db, ip, port, **args):  # type: ignore[no-untyped-def]
    """Add a database (the instance and server are created when missing)."""
    service().add_database(db, ip, port, args)


@_seed("code")
def mod_database(ip, port, db, **args):  # type: ignore[no-untyped-def]
    """Modify a database; at least one key."""
    service().mod_database(ip, port, db, args)


@_seed("code")
def del_database(ip, port, db):  # type: ignore[no-untyped-def]
    """Take a database offline (soft delete)."""
    service().del_database(ip, port, db)


# --- HA records ---------------------------------------------------------------------------------


@_seed("bool")
def update_ha_info(new_master, old_master):  # type: ignore[no-untyped-def]
    """Move the master role in the inventory ('ip:port' each): True, or False changing nothing."""
    service().update_ha_info(new_master, old_master)
    return True


@_seed("id")
def add_failover_record(failover_id, method, old_master, new_master, failover_name=None):  # type: ignore[no-untyped-def]
    """Open a switch record for a group (by id, or by name when the id is None); its id or None."""
    return service().add_record(failover_id, method, old_master, new_master, failover_name)


@_seed("bool")
def add_failover_record_detail(record_id, module, re_time, time_used, result, content):  # type: ignore[no-untyped-def]
    """Append a step to a switch record: True or False."""
    service().add_record_detail(record_id, module, re_time, time_used, result, content)
    return True


@_seed("bool")
def stat_failover_record(record_id, stat="Y"):  # type: ignore[no-untyped-def]
    """Set a record's final status, ``Y`` (success) or ``N`` (failure): True or False."""
    if stat not in ("Y", "N"):
        raise InvalidArgument(f"stat must be 'Y' or 'N', got {stat!r}")
    service().finish_record(record_id, stat)
    return True


@_seed("id")
def failover(group_name, old_master, new_master, method, time):  # type: ignore[no-untyped-def]
    """Switch the group's primary on the live servers now (switchover if it answers, failover if
    dead; method 'switchover'|'failover'|'force'|'auto'); returns the switch's record id or None."""
    return service().seed_failover(group_name, old_master, new_master, method, time)


# --- HA groups, records, owners, business lines (what the seed left to web pages) ---------------


@_seed("code")
def add_ha_group(name, master, **args):  # type: ignore[no-untyped-def]
    """Add an HA group; keys group_manager, group_wvip, group_rvip, group_type, group_members,
    group_auto_failover."""
    service().add_group(name, master, args)


@_seed("code")
def mod_ha_group(name, **args):  # type: ignore[no-untyped-def]
    """Modify an HA group; keys as add_ha_group, plus group_master and group_stat."""
    service().mod_group(name, args)


@_seed("code")
def del_ha_group(name):  # type: ignore[no-untyped-def]
    """Take an HA group offline (soft delete; its records stay)."""
    service().del_group(name)


@_seed("one")
def get_ha_group(name):  # type: ignore[no-untyped-def]
    """One HA group with its members: ``(dict, code)``."""
    return service().get_group(name)


@_seed("list")
def get_all_ha_group(stat=0, count=0):  # type: ignore[no-untyped-def]
    """All HA groups: ``(list_of_dicts, code)``."""
    return service().list_groups(stat, count)


@_seed("list")
def get_failover_records(group_name=None, count=0):  # type: ignore[no-untyped-def]
    """Switch records, newest first, optionally of one group: ``(list_of_dicts, code)``."""
    return service().list_records(group_name, count)


@_seed("one")
def get_failover_record(record_id):  # type: ignore[no-untyped-def]
    """One switch record with its steps under ``details``: ``(dict, code)``."""
    return service().get_record(record_id)


@_seed("code")
def add_owner(name, **args):  # type: ignore[no-untyped-def]
    """Add an owner; keys owner_email, owner_phone."""
    service().add_owner(name, args)


@_seed("list")
def get_all_owner(model=None, count=0):  # type: ignore[no-untyped-def]
    """All owners: ``(list_of_dicts, code)``."""
    return service().list_owners(count)


@_seed("code")
def add_business(name, **args):  # type: ignore[no-untyped-def]
    """Add a business line; keys business_owner, business_phone."""
    service().add_business(name, args)


@_seed("list")
def get_all_business(model=None, count=0):  # type: ignore[no-untyped-def]
    """All business lines: ``(list_of_dicts, code)``."""
    return service().list_businesses(count)


PUBLIC = (
    "get_all_instance", "get_all_server", "get_all_db", "get_instance", "get_database", "get_server",
    "add_server", "mod_server", "del_server", "add_instance", "mod_instance", "del_instance",
    "add_database", "mod_database", "del_database",
    "failover", "update_ha_info", "add_failover_record", "add_failover_record_detail", "stat_failover_record",
    "add_ha_group", "mod_ha_group", "del_ha_group", "get_ha_group", "get_all_ha_group",
    "get_failover_records", "get_failover_record",
    "add_owner", "get_all_owner", "add_business", "get_all_business",
)


def public_functions() -> dict[str, Callable[..., Any]]:
    """The functions callable over RPC (and by ``mega call``), by name."""
    return {name: globals()[name] for name in PUBLIC}


def describe_functions() -> list[dict[str, str]]:
    """``[{'name': ..., 'args': '(ip, port, **args)', 'doc': ...}]`` for ``get_all_funcs``."""
    out = []
    for name, fn in public_functions().items():
        out.append({"name": name, "args": str(inspect.signature(fn)),
                    "doc": (inspect.getdoc(fn) or "").split("\n")[0]})
    return out
