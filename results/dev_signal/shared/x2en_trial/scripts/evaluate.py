"""Trial: evaluate measurement checkpoints (shared, seed 1) on x2en and en2x at the real
lengths, exactly as rule evaluate_model does (same functions and parameters)."""
import os, sys, time, yaml, torch, faiss
from pathlib import Path
from otkd.config import validate_config
from otkd.evaluate.names import length_spec, model_profile
from otkd.evaluate.tasks import LENGTH_KEYS
from otkd.evaluate.run import run_evaluate_model
from otkd.runs import teachers
from otkd.io import setup_logging

root = Path("/work/run")
cfg = validate_config(yaml.safe_load(open(root / "config.yaml")))
torch.set_num_threads(2); faiss.omp_set_num_threads(2)
T = teachers(cfg)
ev = cfg["evaluation"]
for arm in sys.argv[1:]:
    model = f"{arm}_seed1__shared"
    prof = model_profile(model, cfg["models"], teachers=T).to_dict()
    prof["spec"] = f"/tmp/measure/out/shared_{arm}_seed1_model"
    out = Path(f"/tmp/measure/eval/{model}"); out.mkdir(parents=True, exist_ok=True)
    setup_logging(str(out / "log.txt"))
    t = time.time()
    m = run_evaluate_model(model, prof, out, data_dir=root / "results/data/xquad",
        teacher_index_dir=root / "results/index/student", tasks=os.environ.get("TASKS", "x2en").split(","),
        langs=cfg["languages"], lengths={k: ev[k] for k in LENGTH_KEYS.values()},
        length_spec=length_spec(model, cfg["models"], T), **{"batch_size": cfg["encode"]["batch_size"], "bf16": cfg["encode"]["bf16"]},
        index_spec=ev["index"], top_k=ev["top_k"], lareqa_candidate_text=ev["lareqa_candidate_text"])
    print(model, round(time.time() - t), flush=True)
