# Train stage: one run per (arm, seed); teacher targets come only from the teacher cache,
# checkpoint chosen on the FLORES dev set (otkd.train).

TRAIN_SIDES = ["student_xx", "student_en", "teacher_en"]


def train_inputs(wildcards):
    """Student init and, per split, the bitext, the token files and the teacher cache,
    named {split}_{field} as otkd.train.SplitPaths.from_input expects."""
    files = {"init": student_init_input()}
    for split in SPLITS:
        files[f"{split}_bitext"] = f"results/data/bitext/{split}.tsv"
        for side in TRAIN_SIDES:
            files[f"{split}_{side}"] = f"results/tokens/{split}/{side}.npz"
        files[f"{split}_teacher_cache"] = f"results/teacher_cache/{split}"
    return files


def train_settings(wildcards):
    """Shared training parameters and this arm's own loss parameters only (config.train)."""
    from otkd.train import arm_settings

    return arm_settings(config["train"], wildcards.arm)


rule train_model:
    input:
        unpack(train_inputs),
    output:
        model=directory("results/train/{arm}/seed{seed}/model"),
        train_log="results/train/{arm}/seed{seed}/train_log.tsv",
        dev_curve="results/train/{arm}/seed{seed}/dev_curve.tsv",
    log:
        "logs/train/train_model_{arm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/train_model_{arm}_seed{seed}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        settings=train_settings,
        student=config["models"]["student"],
        projection=config["models"].get("projection", False),
    script:
        "../scripts/train_model.py"
