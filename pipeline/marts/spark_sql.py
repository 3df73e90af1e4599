"""The marts' SQL (written in DuckDB's dialect under sql/) as Spark SQL, via sqlglot.

One source of truth: the Spark engine (spark_engine.py) runs the very statements the DuckDB
refresh composes (pipeline/marts/statements.py), transpiled here. sqlglot covers most of the
dialect gap; the few constructs it leaves DuckDB-only are rewritten on the syntax tree by the
short list of REWRITES below (each tested in tests/pipeline/marts/test_spark_sql.py):

- ``epoch(a - b)`` (seconds of an interval): Spark has no epoch of an interval; the same
  seconds as ``date_diff`` in microseconds / 1e6, as a DOUBLE;
- ``schema.table`` -> ``schema__table``: the Spark engine registers the exported tables as
  temporary views, which cannot carry a schema;
- ``(a, b) IN (SELECT (a, b) FROM ...)``: DuckDB compares structs; Spark compares a row
  of columns with a multi-column subquery;
- ``agg(...) FILTER (WHERE c) OVER (...)``: Spark takes FILTER on grouped aggregates only;
  ``agg(CASE WHEN c THEN ... END) OVER (...)`` counts the same rows;
- ``alias.* EXCLUDE (col)``: Spark has no star exclusion; the star is expanded from the named
  columns of the CTE it reads.

Statements come back as ``Statement`` items: temporary tables to materialise, views to
define, SELECTs to run; COMMENT statements (documentation of DuckDB's tables) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

READ = "duckdb"
WRITE = "spark"
# Separates a schema from a table name in the view names of the Spark engine.
SCHEMA_SEPARATOR = "__"


@dataclass(frozen=True)
class Statement:
    """One transpiled statement. kind: 'table' (materialise ``sql``, a SELECT, as ``name``),
    'view' (``sql`` defines the temporary view ``name``) or 'select' (``sql`` is a query)."""

    kind: str
    name: str | None
    sql: str


def view_name(table: str) -> str:
    """The Spark view of a DuckDB table name: ``core.cases`` -> ``core__cases``."""
    return table.replace(".", SCHEMA_SEPARATOR)


def _rewrite_epoch_interval(node: exp.Expression) -> exp.Expression:
    """epoch(a - b) -> CAST(date_diff(microsecond, b, a) AS DOUBLE) / 1000000."""
    if not isinstance(node, exp.TimeToUnix | exp.Anonymous) or not _is_epoch(node):
        return node
    arg = node.this if isinstance(node, exp.TimeToUnix) else node.expressions[0]
    while isinstance(arg, exp.Paren):
        arg = arg.this
    if not isinstance(arg, exp.Sub):
        return node
    micros = exp.DateDiff(this=arg.this, expression=arg.expression, unit=exp.var("MICROSECOND"))
    return exp.Paren(this=exp.Div(
        this=exp.cast(micros, exp.DataType.build("double")), expression=exp.Literal.number(1000000)
    ))


def _is_epoch(node: exp.Expression) -> bool:
    if isinstance(node, exp.TimeToUnix):
        return True
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch"


def _rewrite_table_schema(node: exp.Expression) -> exp.Expression:
    """core.cases -> core__cases (a temporary view of the Spark engine)."""
    if isinstance(node, exp.Table) and node.args.get("db") is not None:
        alias = node.args.get("alias")
        renamed = exp.Table(this=exp.to_identifier(f"{node.db}{SCHEMA_SEPARATOR}{node.name}"))
        if alias is not None:
            renamed.set("alias", alias)
        return renamed
    return node


def _rewrite_struct_in(node: exp.Expression) -> exp.Expression:
    """(a, b) IN (SELECT (a, b) FROM t) -> (a, b) IN (SELECT a, b FROM t)."""
    if not isinstance(node, exp.In):
        return node
    query = node.args.get("query")
    select = query.this if isinstance(query, exp.Subquery) else query
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return node
    only = select.expressions[0]
    if isinstance(only, exp.Tuple | exp.Struct):
        select.set("expressions", [e.copy() for e in only.expressions])
    return node


def _rewrite_window_filter(node: exp.Expression) -> exp.Expression:
    """agg(x) FILTER (WHERE c) OVER (...) -> agg(CASE WHEN c THEN x END) OVER (...)."""
    if not isinstance(node, exp.Window) or not isinstance(node.this, exp.Filter):
        return node
    agg = node.this.this
    condition = node.this.expression.this  # Filter.expression is a Where
    agg = agg.copy()
    argument = agg.this
    if isinstance(argument, exp.Star) or argument is None:
        argument = exp.Literal.number(1)
    agg.set("this", exp.Case(ifs=[exp.If(this=condition.copy(), true=argument.copy())]))
    node.set("this", agg)
    return node


def _rewrite_star_exclude(tree: exp.Expression) -> exp.Expression:
    """alias.* EXCLUDE (col, ...) over a CTE -> that CTE's other named columns."""
    for select in tree.find_all(exp.Select):
        expressions = []
        changed = False
        for projection in select.expressions:
            star = projection.this if isinstance(projection, exp.Column) else projection
            excluded = (star.args.get("except_") or star.args.get("except")) if isinstance(star, exp.Star) else None
            if not excluded:
                expressions.append(projection)
                continue
            table = projection.table if isinstance(projection, exp.Column) else ""
            columns = _source_columns(select, table)
            if columns is None:
                raise ValueError(f"cannot expand {projection.sql(READ)}: its source is not a CTE with named columns")
            dropped = {e.name for e in excluded}
            expressions += [exp.column(c, table=table or None) for c in columns if c not in dropped]
            changed = True
        if changed:
            select.set("expressions", expressions)
    return tree


def _source_columns(select: exp.Select, alias: str) -> list[str] | None:
    """The named columns of the CTE ``select`` reads as ``alias`` (None: not a plain CTE)."""
    from_ = select.args.get("from_") or select.args.get("from")  # the key's name varies by sqlglot version
    sources = [from_.this] if from_ else []
    sources += [j.this for j in select.args.get("joins") or []]
    for source in sources:
        if isinstance(source, exp.Table) and (source.alias_or_name == alias or not alias):
            for cte in select.ctes:
                if cte.alias == source.name and isinstance(cte.this, exp.Select):
                    names = cte.this.named_selects
                    return None if "*" in names else names
    return None


# The rewrites, in the order they run over each statement's tree.
REWRITES = (_rewrite_epoch_interval, _rewrite_table_schema, _rewrite_struct_in, _rewrite_window_filter)


def transpile_tree(tree: exp.Expression) -> exp.Expression:
    tree = _rewrite_star_exclude(tree)
    for rewrite in REWRITES:
        tree = tree.transform(rewrite)
    return tree


def to_spark(sql: str) -> list[Statement]:
    """The statements of ``sql`` (DuckDB dialect) as Spark statements, in order."""
    statements: list[Statement] = []
    for tree in sqlglot.parse(sql, read=READ):
        # COMMENT ON documents DuckDB's tables; a Semicolon node is a comment after a ';'
        if tree is None or isinstance(tree, exp.Comment | exp.Semicolon):
            continue
        if isinstance(tree, exp.Create):
            name = view_name(tree.this.sql(READ))
            body = transpile_tree(tree.expression).sql(WRITE, comments=False)
            kind = "view" if tree.kind == "VIEW" else "table"
            sql_text = f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {body}" if kind == "view" else body
            statements.append(Statement(kind, name, sql_text))
        elif isinstance(tree, exp.Query):
            statements.append(Statement("select", None, transpile_tree(tree).sql(WRITE, comments=False)))
        else:
            raise ValueError(f"no Spark form for this statement: {tree.sql(READ)[:120]}")
    return statements


def select_to_spark(sql: str) -> str:
    """One SELECT (DuckDB dialect) as Spark SQL."""
    (statement,) = to_spark(sql)
    if statement.kind != "select":
        raise ValueError("expected one SELECT")
    return statement.sql
