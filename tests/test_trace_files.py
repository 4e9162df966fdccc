"""The CSV trace reader: headers, columns, and every bad row named."""

from pathlib import Path

import numpy as np
import pytest

from perfcost.files import InputFileError
from perfcost.trace_files import load_trace
from perfcost.validation import ParameterError


def test_load_trace_reads_a_csv_with_or_without_header(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("arrival_time_s\n0.0\n0.5\n0.5\n2.25\n")
    assert load_trace(path).tolist() == [0.0, 0.5, 0.5, 2.25]
    bare = tmp_path / "bare.csv"
    bare.write_text("1\n\n2\n")
    assert load_trace(bare).tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t\n0.1\nsoon\n", r"row 3: 'soon' is not a number of seconds"),
        ("0.1\n-2\n", r"row 2: '-2': times must be finite and >= 0 everywhere; got -2.0"),
        ("0.1\nnan\n", r"row 2: 'nan': times must be finite and >= 0 everywhere"),
        ("0.1\ninf\n", r"row 2: 'inf': times must be finite and >= 0 everywhere"),
        ("t\n0.5\n\n0.2\n", r"row 4: '0.2': times must be sorted ascending; got 0.2 after 0.5"),
        ("0.1\n1.7e12\n", r"row 2: '1.7e12': times must be at most 1e\+10 s .*milliseconds"),
        ("0.1\n1_000\n", r"row 2: '1_000' is not a number of seconds"),
        ("t\n", "no arrival times found"),
        ("", "no arrival times found"),
        ("\n \n", "no arrival times found"),
    ],
)
def test_load_trace_names_the_bad_row(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_trace(path)


# --- The misreadings -------------------------------------------------------------------

def write(tmp_path, content: str | bytes):
    path = tmp_path / "trace.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_a_byte_order_mark_does_not_hide_the_first_time(tmp_path):
    # Before: float('\ufeff0.5') failed, so row 1 was dropped as if it were a header.
    assert load_trace(write(tmp_path, b"\xef\xbb\xbf0.5\n1.0\n")).tolist() == [0.5, 1.0]
    assert load_trace(write(tmp_path, b"\xef\xbb\xbfarrival_s\n0.5\n")).tolist() == [0.5]


def test_a_typo_in_row_1_is_an_error_not_a_header(tmp_path):
    with pytest.raises(ValueError, match=r"row 1: 'O.5' is not a number of seconds \(and not a "
                                         r"header"):
        load_trace(write(tmp_path, "O.5\n1.0\n2.0\n"))


def test_a_semicolon_cell_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"row 1: '5;1' is not a number of seconds"):
        load_trace(write(tmp_path, "0,5;1\n"), column=1)
    # Two cells and no header: the column is not guessed.
    with pytest.raises(ValueError, match=r"2 columns and no header row; pass column="):
        load_trace(write(tmp_path, "0,5;1\n"))


def test_a_multi_column_trace_reads_the_column_named_like_seconds(tmp_path):
    path = write(tmp_path, "request_id,arrival_s\n17,0.25\n3,0.5\n")
    assert load_trace(path).tolist() == [0.25, 0.5]  # not the IDs in column 0
    assert load_trace(path, column="arrival_s").tolist() == [0.25, 0.5]
    assert load_trace(path, column=1).tolist() == [0.25, 0.5]
    with pytest.raises(ValueError, match=r"row 3: '3': times must be sorted ascending"):
        load_trace(path, column="request_id")


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("id,size\n1,2\n", None, r"2 columns \(id, size\) and none named like a time in sec"),
        ("t_s,time_s\n1,2\n", None, r"more than one named like a time in seconds"),
        ("arrival_s,id\n1,2\n", "when", r"no column named 'when'; the columns are arrival_s, id"),
        ("0.1,2\n0.2,3\n", "arrival_s", r"no header row to find column 'arrival_s' in"),
        ("arrival_s,id\n1,2\n", 2, r"column must be a whole number in \[0, 1\]; got 2"),
        ("arrival_s,id\n1,2\n", -1, r"column must be a whole number in \[0, 1\]; got -1"),
        ("arrival_s,id\n1,2\n", np.int64(5), r"column must be a whole number in \[0, 1\]; got .*5"),
        ("arrival_s,id\n1,2\n", 1.5, r"column must be a column name or a 0-based index"),
        ("arrival_s,id\n1,2\n", True, r"column must be a column name or a 0-based index"),
        ("arrival_s,id\n1,2\n", [0], r"column must be a column name or a 0-based index"),
        ("arrival_s,id\n1,2\n2\n", None, r"row 3: 1 cells where the header has 2: '2'"),
        ("arrival_s\n1\n2,3\n", None, r"row 3: 2 cells where the header has 1"),
        ("1,a\n2,b,c\n", 0, r"row 2: 3 cells where row 1 has 2"),
        ('"unclosed\n', None, r"no arrival times found"),  # a header cell, "unclosed\n"
        ('t\n"1\n2"\n', None, r"row 3: '1\\n2' is not a number of seconds"),
    ],
)
def test_load_trace_refuses_ambiguous_or_ragged_files(tmp_path, text, column, message):
    with pytest.raises(ValueError, match=message):
        load_trace(write(tmp_path, text), column=column)


def test_load_trace_refuses_unreadable_files(tmp_path):
    with pytest.raises(InputFileError, match="not UTF-8"):
        load_trace(write(tmp_path, b"0.1\n\xff\n"))
    with pytest.raises(InputFileError, match="cannot read the trace"):
        load_trace(tmp_path / "missing.csv")
    with pytest.raises(ParameterError, match="path must be a file path"):
        load_trace(42)


# The project's shared folder sits beside the checkout: ../shared/data/traces (not committed).
REAL_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
              / "mooncake_conversation.csv")


@pytest.mark.skipif(not REAL_TRACE.exists(), reason="the shared Mooncake trace is not here")
def test_the_real_trace_loads_with_the_defaults():
    times = load_trace(REAL_TRACE)  # header arrival_s,input_tokens,output_tokens
    assert times.size == sum(1 for _ in REAL_TRACE.open()) - 1
    assert times[0] == 0.0 and np.all(np.diff(times) >= 0)


@pytest.mark.parametrize(("first_row", "message"), [
    ("NaN", "must be finite"), ("inf", "must be finite"), ("\u0661", "is not a number")])
def test_a_trace_whose_first_row_is_nan_or_foreign_digits_is_refused(tmp_path, first_row,
                                                                      message):
    path = tmp_path / "t.csv"
    path.write_text(f"{first_row}\n1\n2\n")
    with pytest.raises(ValueError, match=message):
        load_trace(path)


def test_the_reader_and_the_replay_live_in_their_own_modules():
    import perfcost.traffic as traffic
    from perfcost import replay, trace_files

    assert trace_files.load_trace is load_trace
    assert replay.replay_trace.__module__ == "perfcost.replay"
    for gone in ("load_trace", "replay_trace", "replay_rates", "MAX_TRACE_BYTES"):
        assert not hasattr(traffic, gone), gone
