"""Every private upstream name the provider relies on, in one package: one module per upstream, each naming
the symbols it reaches into and the versions they were checked on.

- ``compat.kpo``: KubernetesPodOperator and its PodManager (cncf-kubernetes);
- ``compat.task_sdk``: the task SDK's XCom backend;
- ``compat.dxf``: python-dxf, under the registry adapter (pure: the OCI layer imports it).

When an upstream release renames or reshapes one of these, this package is the only place to change, and
``tests/unit/test_compat.py`` (run on both pin sets, ``constraints.txt`` and ``constraints-lowest.txt``) is
the test that notices. No module outside it names a private upstream symbol (the same test checks).
"""
