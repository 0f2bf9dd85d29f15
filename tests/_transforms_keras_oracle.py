"""Run in a subprocess by test_transforms.py with KERAS_BACKEND set (torch or jax): the
transform matrix's checks on Keras' own losses (the oracle of the Keras dialect).

Usage: python _transforms_keras_oracle.py ID:TRANSFORM ...; prints one JSON object
{"ID:TRANSFORM": null (passed) or "ErrorType: message"}.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import keras  # after KERAS_BACKEND, set by the caller

import test_transforms as T


def main(cases: list[str]) -> None:
    byid = {e.id: e for e in T.ENTRIES}
    out: dict[str, str | None] = {}
    for case in cases:
        eid, _, transform = case.rpartition(":")
        entry = byid[eid]
        assert entry.dialect == "keras", entry.id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = getattr(keras.losses, entry.name)
            loss = obj(**entry.defaults) if isinstance(obj, type) else obj
        run = (T._torch_run if keras.backend.backend() == "torch" else T._jax_run)(entry, transform, loss)
        try:
            run()
            out[case] = None
        except Exception as e:
            out[case] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
