"""10,000 evaluations in one process: every result equals the first run's, and memory stays flat."""

from benchmarks import workload


def resident_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 // 1024


def test_ten_thousand_evaluations_repeat_the_first_run_in_flat_memory(library):
    submissions = [library.load(document) for document in workload.generate(1000)]
    first = [library.evaluate(s).results for s in submissions]
    start = resident_kib()
    for _ in range(9):
        for s, expected in zip(submissions, first, strict=True):
            assert library.evaluate(s).results == expected
    growth = resident_kib() - start
    # 9,000 evaluations after the first 1,000: a leak of even 200 bytes each would show as ~1,800 KiB.
    assert growth < 1024, f"resident memory grew by {growth} KiB over 9,000 evaluations"
    assert library.ruleset("tms-clinical").facts_in_session() == []
