"""Issue 15: a trained shared-experiment checkpoint (kl seed 1, as saved by training) loaded by
SentenceTransformer reproduces the pipeline's x2en nDCG@10 (from eval.py's metrics.tsv)."""
import sys, time
from pathlib import Path
import pandas as pd, torch, yaml
from sentence_transformers import SentenceTransformer
from otkd.config import validate_config
from otkd.evaluate import XQuADFiles, evaluate_model
from otkd.evaluate.index import TeacherIndex
from otkd.evaluate.names import length_spec
from otkd.evaluate.run import resolve_lengths
from otkd.evaluate.tasks import LENGTH_KEYS
from otkd.runs import teachers

torch.set_num_threads(2)
root = Path("/work/run")
cfg = validate_config(yaml.safe_load(open(root / "config.yaml")))
arm = sys.argv[1] if len(sys.argv) > 1 else "kl"
model = f"{arm}_seed1__shared"
ckpt = Path(f"/tmp/measure/out/shared_{arm}_seed1_model")
ev = cfg["evaluation"]
lengths = resolve_lengths({k: ev[k] for k in LENGTH_KEYS.values()},
                          length_spec(model, cfg["models"], teachers(cfg)), model)
print("lengths", lengths)

class STEncoder:
    def __init__(self, path):
        self.st = SentenceTransformer(str(path), device="cpu")
        self.dim = self.st.get_sentence_embedding_dimension()
    def encode(self, texts, role, *, max_length=None, desc=""):
        assert max_length in (None, self.st.max_seq_length), (max_length, self.st.max_seq_length)
        return self.st.encode([t.strip() for t in texts], prompt_name=role, batch_size=64,
                              convert_to_numpy=True, normalize_embeddings=True)

t = time.perf_counter()
enc = STEncoder(ckpt)
print("max_seq_length", enc.st.max_seq_length)
m = evaluate_model(model, enc, XQuADFiles(root / "results/data/xquad"), Path("/tmp/measure/st_eval"),
                   tasks=["x2en"], langs=cfg["languages"],
                   teacher_index=TeacherIndex.load(root / "results/index/student"), lengths=lengths)
st = m[m["measure"] == "nDCG@10"].set_index("lang")["value"]
pipe = pd.read_csv(f"/tmp/measure/eval/{model}/metrics.tsv", sep="\t")
pipe = pipe[(pipe.task == "x2en") & (pipe.measure == "nDCG@10")].set_index("lang")["value"]
df = pd.DataFrame({"pipeline (bf16)": pipe, "sentence-transformers (fp32)": st})
df["diff"] = df.iloc[:, 1] - df.iloc[:, 0]
print(df.round(4).to_string())
print(f"max |diff| {df['diff'].abs().max():.4f}; mean {df.iloc[:,0].mean():.4f} vs {df.iloc[:,1].mean():.4f}; {time.perf_counter() - t:.0f} s")
