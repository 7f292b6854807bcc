"""Service-neutral workflows (quote, place, search, edit, cancel, orders mirror, bulk) shared by the dock, the dialogs and Processing."""
