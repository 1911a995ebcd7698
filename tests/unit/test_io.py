"""otkd.io: atomic table writes, gzip-compressed when the name ends in .gz."""

from __future__ import annotations

import gzip

import pandas as pd
from otkd.io import write_df


def test_gz_table_is_gzip_readable_and_byte_stable(tmp_path):
    df = pd.DataFrame({"qid": ["q1", "q2"], "value": [0.5, 1.0 / 3.0]})
    first, second = tmp_path / "a.tsv.gz", tmp_path / "b" / "a.tsv.gz"
    second.parent.mkdir()
    write_df(first, df, float_format="%.6g")
    write_df(second, df, float_format="%.6g")
    assert first.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    assert gzip.decompress(first.read_bytes()).decode() == "qid\tvalue\nq1\t0.5\nq2\t0.333333\n"
    assert first.read_bytes() == second.read_bytes()  # no timestamp in the header
    assert pd.read_csv(first, sep="\t").equals(
        pd.DataFrame({"qid": ["q1", "q2"], "value": [0.5, 0.333333]})
    )
    assert not list(tmp_path.glob("*.tmp*"))  # the temporary file was renamed away


def test_plain_tsv_stays_plain(tmp_path):
    write_df(tmp_path / "t.tsv", pd.DataFrame({"a": [1]}))
    assert (tmp_path / "t.tsv").read_text() == "a\n1\n"
