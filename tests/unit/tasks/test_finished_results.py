"""The maintenance DAG's tasks read the build and merge results by task id, without an error-level log line."""

from airflow_kaniko.tasks.maintenance import finished_results

BUILD = {"digest": "sha256:" + "a" * 64, "destinations": ["r/demo/hello:1"]}
OTHER = {"digest": "sha256:" + "b" * 64, "destinations": ["r/demo/web:1"]}
INDEX = {"digest": "sha256:" + "c" * 64, "images": ["r/demo/multi@sha256:" + "c" * 64], "destinations": ["r/demo/multi:1"]}


class TI:
    """What RuntimeTaskInstance.xcom_pull(task_ids=[...]) answers without map_indexes: every map index's value,
    or [None] for a task that pushed none."""

    def __init__(self, xcoms):
        self.xcoms, self.calls = xcoms, []

    def xcom_pull(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        (task_id,) = kwargs["task_ids"]
        return self.xcoms.get(task_id, [None])


def test_results_task_by_task_map_index_by_map_index_and_none_for_a_task_that_pushed_nothing():
    ti = TI({"build_level_0": [BUILD, OTHER], "merge_level_0": [[INDEX]], "build_level_1": [OTHER]})
    found = finished_results(ti, ["build_level_0", "merge_level_0", "build_level_1", "merge_level_1"])
    assert found == [BUILD, OTHER, INDEX, OTHER]  # merge_level_1 was skipped: it adds nothing


def test_each_task_is_pulled_once_for_all_its_map_indexes():
    """No map_indexes: the task SDK reads them all at once (a slice) and logs no `XCom not found` for absent ones."""
    ti = TI({})
    assert finished_results(ti, ["build_level_0", "merge_level_0"]) == []
    assert ti.calls == [((), {"task_ids": ["build_level_0"]}), ((), {"task_ids": ["merge_level_0"]})]
