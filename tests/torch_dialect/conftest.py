import pytest


@pytest.fixture(scope="session")
def torch_backends(backends):
    """numpy, torch (torch's kernels), torch-generic (lossbridge's code on torch tensors), jax."""
    out = list(backends)
    if "torch" in out:
        out.insert(out.index("torch") + 1, "torch-generic")
    return out
