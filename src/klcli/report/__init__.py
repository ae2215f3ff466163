"""Pictures and reports for people: tables fitted to the terminal, terminal charts, HTML reports.

``fit`` chooses column widths so that no number is cut and no word broken;
``terminal`` draws bars with rich (``--plot``); ``html`` writes one
self-contained offline page (``--format html``) with SVG charts from
``charts`` (matplotlib, the ``klcli[plot]`` extra, imported only there).
"""
