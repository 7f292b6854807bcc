"""Per-chunk progress bars of a running bulk job, read from the job on the GUI thread by a timer."""

from __future__ import annotations

from typing import List, Optional, Sequence

from qgis.PyQt.QtCore import QObject, QTimer
from qgis.PyQt.QtWidgets import (
    QLabel,
    QLayout,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ...core.app.bulk import (
    BulkJob,
)

# How often the chunk progress bars read a running job's chunk states (on the GUI thread).
CHUNK_POLL_MS = 200


class ChunkWatcher(QObject):
    """Shows a running BulkJob's chunk states in a progress panel, read on the GUI thread by a timer.

    The job only records its chunk states (BulkJob.chunk_states); nothing from the task's worker thread
    reaches a widget or a signal, so a dialog deleted mid-run (plugin unload) cannot break the job.
    """

    def __init__(self, panel: "BulkProgressPanel", parent: QObject):
        super().__init__(parent)
        self.panel = panel
        self.job: Optional[BulkJob] = None
        self.timer = QTimer(self)
        self.timer.setInterval(CHUNK_POLL_MS)
        self.timer.timeout.connect(self.show)

    def follow(self, job: BulkJob) -> None:
        self.job = job
        self.timer.start()

    def show(self) -> None:
        if self.job is None:
            return
        for state in self.job.chunk_states():
            self.panel.update_chunk(state.seq, state.count, state.state, state.done, state.size)

    def stop(self) -> None:
        """The task is done: show its last chunk states and stop reading."""
        self.timer.stop()
        self.show()


class BulkProgressPanel(QWidget):
    """One progress bar per chunk, labelled with its bulk state (PENDING / RUNNING / COMPLETE)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("bulkProgressPanel")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        # Never squeezed below its bars: inside a scroll area it scrolls instead.
        self._layout.setSizeConstraint(QLayout.SetMinimumSize)
        self.bars: List[QProgressBar] = []
        self.labels: List[QLabel] = []

    def reset(self, sizes: Sequence[int]) -> None:
        for widget in self.bars + self.labels:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self.bars, self.labels = [], []
        for index, size in enumerate(sizes):
            label = QLabel(f"Part {index + 1} of {len(sizes)} ({size} orders): written to the journal", self)
            bar = QProgressBar(self)
            bar.setObjectName(f"chunkProgress{index}")
            bar.setRange(0, max(1, size))
            bar.setValue(0)
            self._layout.addWidget(label)
            self._layout.addWidget(bar)
            self.labels.append(label)
            self.bars.append(bar)

    def update_chunk(self, index: int, count: int, state: str, done: int, size: int) -> None:
        if not 0 <= index < len(self.bars):
            return
        self.bars[index].setRange(0, max(1, size))
        self.bars[index].setValue(done)
        self.labels[index].setText(f"Part {index + 1} of {count} ({size} orders): {state} — {done}/{size}")

    def states(self) -> List[str]:
        return [label.text() for label in self.labels]


