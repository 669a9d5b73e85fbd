"""Helpers shared by gonogo's own tests (unit, end-to-end) and the benchmarks.

- ``suite_runner``: runs ``python -m pytest`` on the suites, or ``gonogo …``,
  in a process of its own, and reads its output;
- ``gate_inputs``: a target copy, sign-offs, a backup and a staging record
  for a production gate run against the sandbox;
- ``demo_system``: the sandbox's demo system in a namespace of its own;
- ``clean_failure``: a user's command with a canary secret, judged on how it fails;
- ``local_http``: real HTTP servers on loopback;
- ``mini_project``: a small checklist, target and deploy suite for pytester;
- ``throwaway_sandbox``: a sandbox state directory with only a CA, for unit tests.

Modules here import nothing from test modules; test modules import from here,
never from each other."""
