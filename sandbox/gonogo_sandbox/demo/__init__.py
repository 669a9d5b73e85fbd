"""``gonogo demo``: the release process walked end to end on the local
sandbox, from an empty reports folder (see :mod:`gonogo_sandbox.demo.flow`)."""
