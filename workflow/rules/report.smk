# Report stage: results table, comparisons against KL, low-resource rank correlations,
# summary, figures, runtime table (otkd.report). Final outputs are marked for
# `snakemake --report report.html`.
# Input and parameter functions live in common.smk.


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    build_tables,
    plot_figures,
    collect_runtime,


rule build_tables:
    input:
        metrics=expand("results/evaluate/{model}/metrics.tsv", model=EVAL_MODELS),
        perquery=expand("results/evaluate/{model}/perquery.tsv.gz", model=EVAL_MODELS),
        truncation=expand("results/evaluate/{model}/truncation.tsv", model=EVAL_MODELS),
    output:
        table=report(
            "results/table.tsv", caption="../report/table.rst", category="Tables"
        ),
        comparison=report(
            "results/comparison.tsv",
            caption="../report/comparison.rst",
            category="Tables",
        ),
        summary=report(
            "results/summary.md", caption="../report/summary.rst", category="Tables"
        ),
        low_resource=report(
            "results/low_resource.tsv",
            caption="../report/low_resource.rst",
            category="Tables",
        ),
    log:
        "logs/report/build_tables.log",
    benchmark:
        "results/benchmarks/report/build_tables.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        config=report_config(),
        entries=report_entries(),
    script:
        "../scripts/build_tables.py"


rule plot_figures:
    input:
        table="results/table.tsv",
        comparison="results/comparison.tsv",
        runs=report_train_logs,
    output:
        report(
            directory("results/figures/{experiment}"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "logs/report/plot_figures_{experiment}.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        experiment="{experiment}",
        dev_metric=experiment_dev_metric,
    script:
        "../scripts/plot_figures.py"


# after every job that writes a benchmark file (the learning curve's too), so runtime.tsv
# has them all; exports, OT plans and sweep figures write none
rule collect_runtime:
    input:
        evaluated=evaluate_targets(),
        trained=report_train_logs(),
        tables=rules.build_tables.output,
        figures=figure_targets(),
        curve=curve_targets(),
    output:
        report(
            "results/runtime.tsv", caption="../report/runtime.rst", category="Runtime"
        ),
    log:
        "logs/report/collect_runtime.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        bench_dir="results/benchmarks",
        rules=report_rule_names,
    script:
        "../scripts/collect_runtime.py"


rule ot_plan_figure:
    input:
        unpack(ot_plan_inputs),
    output:
        report(OT_PLAN_FIGURE, caption="../report/ot_plan.rst", category="Figures"),
    log:
        "logs/report/ot_plan_figure_{experiment}.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=ot_plan_settings,
        teacher=ot_plan_teacher,
        n_pairs=4,
    script:
        "../scripts/ot_plan_figure.py"
