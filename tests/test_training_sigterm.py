"""A SIGTERM during training ends the process with status 143, never 0 (Lightning stops at a step
and raises a SystemExit without a code, which would read as success)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import lightning as L
    from kgattn import KGClassifier

    class TermAtSecondStep(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    texts = [f"text number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(40)]
    labels = ["a" if i % 2 else "b" for i in range(40)]
    clf = KGClassifier(backbone=sys.argv[1], use_graph=False, max_epochs=5, batch_size=4,
                       callbacks=[TermAtSecondStep()])
    clf.fit(texts, labels)
    print("fit returned")
""")


def test_sigterm_during_fit_exits_143(tiny_backbone, tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), tiny_backbone], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 143, done.stderr[-2000:]
    assert "fit returned" not in done.stdout
