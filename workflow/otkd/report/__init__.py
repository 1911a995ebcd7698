"""Report stage: tables, comparisons, summary, figures, runtime, learning curve, README block.

Modules (``docs/ARCHITECTURE.md`` describes the files and contracts):

- :mod:`.tables`: ``table.tsv`` and the shared loading / ordering helpers;
- :mod:`.compare`: ``comparison.tsv`` (paired tests against ``kl``);
- :mod:`.lowres`: ``low_resource.tsv`` (gains rank-correlated with the untrained student's
  per-language score);
- :mod:`.markdown`: ``summary.md``, formatting helpers, rule entry :func:`make_tables`;
- :mod:`.figures`: ``results/figures/`` (:func:`make_figures`);
- :mod:`.runtime`: ``runtime.tsv`` from the benchmark files (:func:`make_runtime`);
- :mod:`.curve`: the learning curve (:func:`make_learning_curve`);
- :mod:`.readme`: the README headline and ``results/README.md`` (``python -m otkd.report.readme``);
- :mod:`.data_summary`: ``results/data/summary.json`` of the data stage (:func:`write_summary`).

The public names below are re-exported lazily (on first access): importing one module does
not load the others, and ``python -m otkd.report.readme`` runs without the package having
imported it first.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "tables": [
        "AGG_LANG",
        "COMPARISON_COLUMNS",
        "PERQUERY_COLUMNS",
        "REFERENCE_ARM",
        "TABLE_COLUMNS",
        "aggregate_units",
        "arm_order",
        "build_table",
        "lang_group",
        "load_evaluations",
        "read_tsv",
        "tasks_in",
    ],
    "compare": ["build_comparison", "compared_arms", "stats_options"],
    "lowres": [
        "LOW_RESOURCE_COLUMNS",
        "build_low_resource",
        "per_language_quantities",
        "power_note",
    ],
    "markdown": [
        "col_label",
        "fmt",
        "fmt_p",
        "low_resource_markdown",
        "make_tables",
        "markdown_table",
        "summary_markdown",
        "summary_notes",
    ],
    "figures": [
        "load_training_logs",
        "make_figures",
        "plot_difference",
        "plot_scores",
        "plot_training",
    ],
    "runtime": [
        "COST_COLUMNS",
        "RUNTIME_COLUMNS",
        "TOTAL",
        "collect_runtime",
        "estimate_cost",
        "job_stats",
        "make_runtime",
        "read_benchmark",
        "split_rule_name",
    ],
    "curve": [
        "CURVE_COLUMNS",
        "build_curve_comparison",
        "build_learning_curve",
        "make_learning_curve",
        "plot_learning_curve",
    ],
    "readme": ["render", "update"],
    "data_summary": ["build_summary", "write_summary"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
