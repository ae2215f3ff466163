"""``klcli families``: the distribution families and the pairs with a closed-form KL."""

from __future__ import annotations

import sys

from klcli.cli import app
from klcli.cli import options as o


@app.command()
def families(fmt: o.Format = o.OutputFormat.table, output: o.Output = None) -> None:
    """List the distribution families, their parameters and supports, and closed-form pairs.

    \b
    A pair (P, Q) listed as closed form is computed exactly; other pairs use
    quadrature (1-D) or Monte Carlo (see --engine in `klcli compare --help`).
    """
    from klcli.closed_form import pairs
    from klcli.families import catalogue
    from klcli.render import console, records_to_csv, to_json

    if fmt == o.OutputFormat.html:
        from klcli.errors import UsageError

        raise UsageError("--format html is for compare and batch; families prints a table, json or csv")
    closed = pairs()
    records = [
        {
            "family": family,
            "parameters": parameters,
            "support": support,
            "kind": kind,
            "closed_form_with": sorted(q for p, q in closed if p == family),
        }
        for family, parameters, support, kind in catalogue()
    ]
    from klcli.cli.output import output_to

    with output_to(output):
        if fmt == o.OutputFormat.json:
            sys.stdout.write(to_json({"families": records, "closed_form_pairs": [list(pair) for pair in closed]}) + "\n")
        elif fmt == o.OutputFormat.csv:
            sys.stdout.write(records_to_csv([{**r, "closed_form_with": " ".join(r["closed_form_with"])} for r in records]))
        else:
            from klcli.report.tables import families_table

            out = console()
            out.print(families_table(records, pairs=len(closed), width=out.width))
