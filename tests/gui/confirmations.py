"""A stand-in for the order panels' confirmation dialog that the New order tests share."""

from __future__ import annotations


class Confirmations:
    """Stands in for the confirmation dialog: records what it was shown and answers `answer`."""

    def __init__(self):
        self.texts = []
        self.answer = True

    def __call__(self, title, text):
        self.texts.append(text)
        return self.answer
