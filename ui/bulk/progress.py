"""Per-chunk progress bars of a running bulk job (its workflow's chunkProgress)."""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

from qgis.PyQt.QtWidgets import (
    QLabel,
    QLayout,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ...core.app.bulk import ChunkState


class BulkProgressPanel(QWidget):
    """One progress bar per chunk, labelled with its bulk state (PENDING / RUNNING / COMPLETE).

    `single_part_bar=False`: a job of one part shows its line without a bar, for a dialog whose own bar
    already shows that part's progress (two full bars for one thing read as two things).
    """

    def __init__(self, parent: Optional[QWidget] = None, *, single_part_bar: bool = True):
        super().__init__(parent)
        self.single_part_bar = single_part_bar
        self.setObjectName("bulkProgressPanel")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        # Never squeezed below its bars: inside a scroll area it scrolls instead.
        self._layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
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
            bar.setFormat(f"Part {index + 1}: %v of %m")
            bar.setVisible(self.single_part_bar or len(sizes) > 1)
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

    def show_states(self, states: Iterable[ChunkState]) -> None:
        """What a workflow's chunkProgress says of each chunk."""
        for state in states:
            self.update_chunk(state.seq, state.count, state.state, state.done, state.size)

    def states(self) -> List[str]:
        return [label.text() for label in self.labels]


