"""The report as Markdown for the DAG run's note: exact rendering, escaping and Airflow's 1000-character limit."""

from airflow_kaniko.maintenance.report import NOTE_MAX_CHARS, BuildReport, ReportRow, short_digest

D1 = "sha256:" + "ab" * 32


def test_markdown_table_with_short_digests_and_reasons():
    report = BuildReport([ReportRow("hello", "pushed", D1, ["r/hello:1@" + D1]), ReportRow("broken", "failed")])
    assert report.markdown("weekly").splitlines() == [
        "**weekly**: 1 pushed, 1 failed",
        "",
        "| image | status | digest | reason |",
        "| --- | --- | --- | --- |",
        "| hello | pushed | `sha256:abababababab` |  |",
        "| broken | failed | - | no result from the build task; see its log |",
    ]


def test_cells_stay_on_one_line_and_pipes_are_escaped():
    report = BuildReport([ReportRow("x|y", "failed")])
    assert report.markdown("t").splitlines()[-1] == "| x\\|y | failed | - | no result from the build task; see its log |"


def test_long_reports_fit_the_note_and_say_how_many_rows_are_left_out():
    rows = [ReportRow(f"image-{i:03d}", "pushed", D1) for i in range(40)]
    text = BuildReport(rows).markdown("weekly")
    assert len(text) <= NOTE_MAX_CHARS
    shown = [line for line in text.splitlines() if line.startswith("| image-")]
    assert 0 < len(shown) < 40
    assert text.splitlines()[-1] == f"… and {40 - len(shown)} more in the report task's XCom"
    assert BuildReport(rows[:3]).markdown("weekly").count("| image-") == 3


def test_empty_report_and_short_digest():
    assert BuildReport([]).markdown("t").splitlines()[0] == "**t**: no images"
    assert short_digest(None) == "-"
    assert short_digest(D1) == "`sha256:abababababab`"
