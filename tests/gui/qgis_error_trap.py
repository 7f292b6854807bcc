"""Run by QGIS before plugins load (PYQGIS_STARTUP): Python errors are recorded instead of shown modally."""

# QGIS reports a plugin that fails to load in a modal "Python error" dialog, which under Xvfb nobody
# closes: QGIS would hang until the test's timeout. Recording the traceback in ST_ERRORS (and QGIS's
# message log, which showException writes first) lets the startup check report it within seconds.
import os
import traceback

import qgis.utils


def _record_instead_of_dialog(type_, value, tb, msg, pop_error=True):
    with open(os.environ["ST_ERRORS"], "a", encoding="utf-8") as out:
        out.write(f"{msg or ''}\n{''.join(traceback.format_exception(type_, value, tb))}\n")


qgis.utils.open_stack_dialog = _record_instead_of_dialog
