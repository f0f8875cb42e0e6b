"""Reader-page queries compiled once per process, then run with each page's values.

A snapshot page asks the same questions of every snapshot (the snapshot, its related links, its
reprints, more in its category), and Django builds and compiles each QuerySet anew for every page:
the filters, the EXISTS subqueries of `published()`, the joins of `select_related`, the UNION of the
related links. On a crawler's walk, where every page misses the page cache, building and compiling
them took 5.8 ms of a snapshot page's 12 ms of CPU, running them under 1 ms (docs/performance.md).

`PreparedQuery` builds its QuerySet once per database alias and shape, with stand-in values where a
page's values go, and keeps the compiled SQL and the compiler that describes its columns. A call
runs that SQL with the call's values in the stand-ins' places, through the QuerySet's own iterable:
the rows become model instances, with their related objects, or dicts, exactly as the QuerySet
would have made them. Only the values passed change between calls; anything else that shapes the
SQL (a limit read from the settings) is part of the shape, given positionally.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connections, router
from django.db.models import QuerySet

# Stand-ins for integer values: positive and within a 32-bit integer field's range (Django answers
# a lookup out of a field's range with no rows, without SQL), and far past any id this archive holds.
INTEGER_STAND_IN = 2_000_000_000
# Stand-ins for times (aware, as USE_TZ makes every time here): a year no news is from.
TIME_STAND_IN = datetime(1111, 1, 1, tzinfo=UTC)


def _stand_in(name: str, value, number: int):
    if isinstance(value, datetime):
        return TIME_STAND_IN + timedelta(seconds=number)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a prepared query takes integers, strings and times, not {type(value).__name__} for {name}")
    return INTEGER_STAND_IN + number if isinstance(value, int) else f"\x1fstand-in {number}\x1f"


def _as_parameter(connection, value):
    """`value` as the compiler passes it to the database: a time as the backend stores it (SQLite: a
    string in UTC), anything else as it is."""
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def _copy(obj):
    """A shallow copy that never evaluates a QuerySet (copy.copy would, through its pickling)."""
    duplicate = object.__new__(type(obj))
    duplicate.__dict__ = obj.__dict__.copy()
    return duplicate


class PreparedQuery:
    """`build(*shape, **values)` returns a QuerySet; `prepared(*shape, **values)` returns its rows as
    a list, the SQL compiled only the first time a shape is asked for on a database alias."""

    def __init__(self, model, build: Callable[..., QuerySet]):
        self.model, self.build = model, build
        self._compiled: dict[tuple, tuple] = {}

    def __call__(self, *shape, **values) -> list:
        alias = router.db_for_read(self.model)
        key = (alias, shape, tuple(sorted((name, type(value)) for name, value in values.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(alias, shape, values)
        queryset, compiler, sql, params, slots, converters = compiled
        # The connection of this thread (a live test server runs pages in another one).
        connection = connections[alias]
        run_params = list(params)
        for position, name in slots:
            run_params[position] = _as_parameter(connection, values[name])
        run = _copy(compiler)
        run.connection = connection
        run.as_sql = lambda *args, **kwargs: (sql, tuple(run_params))
        run.get_converters = lambda expressions: converters
        query = _copy(queryset.query)
        query.get_compiler = lambda *args, **kwargs: run
        rows = _copy(queryset)
        rows._query, rows._result_cache, rows._prefetch_done = query, None, False
        return list(rows)

    def _compile(self, alias: str, shape: tuple, values: dict) -> tuple:
        stand_ins = {name: _stand_in(name, value, n) for n, (name, value) in enumerate(sorted(values.items()))}
        queryset = self.build(*shape, **stand_ins).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        by_value = {_as_parameter(connections[alias], value): name for name, value in stand_ins.items()}
        slots = [(position, by_value[param]) for position, param in enumerate(params) if param in by_value]
        missing = stand_ins.keys() - {name for _, name in slots}
        if missing:
            raise ValueError(
                f"the SQL of {self.build.__qualname__} takes no parameter for {', '.join(sorted(missing))}"
            )
        # The columns' converters (dates from SQLite's text, decimals…), found once too: 0.1 ms a page.
        converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
        return queryset, compiler, sql, tuple(params), slots, converters
