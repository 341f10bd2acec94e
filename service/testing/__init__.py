"""Fixtures shared by the service's tests and benchmarks: a synthetic artifact fitted by the real
code (`synthetic`, invented numbers, never shipped) and a real uvicorn on a free port (`live`)."""
