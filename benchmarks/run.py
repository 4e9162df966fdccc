"""`make bench`: the performance figures the issues name, printed with the hardware they ran on.

Figures are medians of repeated runs where a run is short; nothing here asserts a threshold.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perfcost.chapters import find_chapters, rerun
from perfcost.queueing import MMc, erlang_c

ROOT = Path(__file__).resolve().parents[1]


def hardware() -> str:
    """The CPU model, the cores this process may use, and the Python version."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"


def median_seconds(work, repeats: int) -> float:
    """Median wall time of ``work()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_erlang_c() -> None:
    loads = [50_000.0, 90_000.0, 99_000.0, 99_999.0]
    seconds = median_seconds(lambda: [erlang_c(100_000, a) for a in loads], 200) / len(loads)
    print(f"erlang_c(100_000 servers)               {seconds * 1e3:8.4f} ms per call"
          "  (goal < 10 ms)")
    queue = MMc(99_000.0, 1.0, 100_000)
    seconds = median_seconds(lambda: MMc(99_000.0, 1.0, 100_000).response_quantile(0.95), 50)
    print(f"MMc(100_000 servers).response_quantile  {seconds * 1e3:8.4f} ms per call"
          f"  (p95 = {queue.response_quantile(0.95):.3f} s)")


def bench_chapters() -> None:
    goals = {"capacity": 20}  # seconds, from the issues
    with tempfile.TemporaryDirectory() as scratch:
        for chapter in find_chapters(ROOT).values():
            start = time.perf_counter()
            rerun(chapter, {}, Path(scratch) / chapter.name, progress_bar=False)
            seconds = time.perf_counter() - start
            goal = f"  (goal < {goals[chapter.name]} s)" if chapter.name in goals else ""
            print(f"chapter {chapter.name:<31} {seconds:8.1f} s to execute (papermill){goal}")


def bench_book_from_empty_cache() -> None:
    # The working tree as a clean clone would have it: tracked files and new, unignored ones.
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "book"
        for name in tracked:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, copy / name)
        start = time.perf_counter()
        # Run from the copy: Jupyter Book resolves the cache folder against the working directory.
        build = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build",
                                ".", "--warningiserror", "--quiet"],
                               cwd=copy, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if build.returncode != 0:
        sys.exit(f"book build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    print(f"book build, empty cache and _build       {seconds:8.1f} s  (goal < 180 s)")


if __name__ == "__main__":
    print(f"hardware: {hardware()}")
    bench_erlang_c()
    bench_chapters()
    bench_book_from_empty_cache()
