"""The Decisions panel: UP42 feasibility options and quotations, accepted or rejected after a confirmation."""
