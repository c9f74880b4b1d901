"""Where the model may read tensor values in Python, and where it must not.

On a CPU, reading a value (``bool(mask.any())``, ``nonzero``, ``torch.unique``, ``.tolist()``)
costs nothing, and the model uses it to skip work: it packs the real tokens before the fusion
attention, groups R-GCN messages by relation, and checks a batch's contract. On a GPU every such
read makes the host wait for the device (a host-device synchronisation) and stalls the kernel
queue, so there the model takes paths whose shapes never depend on values: masked attention over
every token, per-(relation, node) in-degrees counted into a dense array, masked means instead of
boolean indexing, negatives drawn with ``torch.multinomial``. Both paths compute the same
function (tests compare them). The value checks of a batch's contract run only where they are
free (CPU tensors): batches from kgattn's collator are valid by construction, and a hand-made
batch can be checked on the host (:func:`kgattn.models.checks.check_graph_batch`) before its
one move to the device.

:func:`device_paths` forces the device paths on CPU tensors too, so tests and
``benchmarks/gpu.py`` can check on a CPU that the forward dispatches no synchronising operator.
"""
from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_forced = 0


def values_are_free(t: torch.Tensor) -> bool:
    """True when reading ``t``'s values in Python costs no device synchronisation (a CPU tensor,
    device paths not forced)."""
    return t.device.type == "cpu" and not _forced


@contextlib.contextmanager
def device_paths() -> Iterator[None]:
    """Take the synchronisation-free paths on every device, CPU included (re-entrant)."""
    global _forced
    _forced += 1
    try:
        yield
    finally:
        _forced -= 1


#: Operators that make the host wait for a GPU: they hand a value to Python, or their output's
#: size depends on values (boolean-mask indexing is checked separately, by its index's dtype).
SYNCHRONISING_OPS = frozenset({"_local_scalar_dense", "nonzero", "_unique2", "unique_consecutive", "unique_dim",
                               "masked_select", "is_nonzero", "equal", "allclose", "repeat_interleave"})


class SyncRecorder(TorchDispatchMode):
    """Records every synchronising operator dispatched inside it, with the innermost calling
    frame outside torch (``file:line``): ``recorder.sites``. Runs on any device, so a CPU
    test can find the operations that would stall a GPU."""

    def __init__(self):
        super().__init__()
        self.sites: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        bool_index = name in ("index", "index_put", "index_put_") and any(
            isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8)
            for i in (args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else ()))
        if name in SYNCHRONISING_OPS or bool_index:
            self.sites.append(f"{name} at {_caller()}")
        return func(*args, **kwargs)

    def kgattn_sites(self) -> list[str]:
        """The recorded sites in kgattn's own code (not torch's, the backbone's or a test's)."""
        return [s for s in self.sites if s.split(" at ", 1)[1].startswith(_PACKAGE_DIR)]


#: kgattn's package directory, with a trailing separator.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-2]):
        if f"{os.sep}torch{os.sep}" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}"
    return "?"
