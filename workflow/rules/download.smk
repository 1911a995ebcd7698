# Download stage: every file of the download manifest (workflow/resources/downloads.tsv,
# plus config.extra_downloads), mirror first, sha256 checked.


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    download,


rule download:
    output:
        "results/download/{path}",
    log:
        "logs/download/{path}.log",
    conda:
        "../../envs/pipeline.yaml"
    params:
        entry=download_entry,
        mirrors=config.get("mirrors", []),
        timeout=config.get("download", {}).get("timeout_s", 60),
        retries=config.get("download", {}).get("retries", 3),
    script:
        "../scripts/download.py"
