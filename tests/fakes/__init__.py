"""Fake servers for tests: real HTTP on a free port, recording what they received.

`tests.fakes.kube_api.FakeKube` imitates the Kubernetes API server (run it by hand with
`python -m tests.fakes.kube_api --snapshot examples/cluster`).
"""
