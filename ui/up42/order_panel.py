"""The New order tab for a service whose order form is generated from a product's JSON Schema (UP42): the AOI from
the map, a tasking product, its form, the estimate in credits and Place."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from qgis.core import Qgis
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...core import names
from ...core.aoi import DEFAULT_MAX_SQKM
from ...core.app.schema_order import (
    NO_PRODUCT,
    ProductsWorkflow,
    SchemaOrderForm,
    SchemaPlaceWorkflow,
    SchemaQuoteWorkflow,
    estimate_problems,
    problems_of,
)
from ...core.errors import OrderCreationUncertain, ValidationError
from ...core.services import registry
from ...core.services.base import ServiceDescriptor
from ..new_order.aoi_group import AoiGroup
from ..new_order.fields import ERROR_STYLE, MUTED_STYLE, FieldErrors, scrolling_body
from ..shared.schema_form import UNSET, SchemaForm

LOADING_PRODUCTS = "Reading the tasking products…"
CHOOSE_PRODUCT = "Choose a product…"
# The schema's parameters the panel fills itself: the AOI from the map, the order's name from its Name field
# (a second name field in the generated form would be sent nowhere).
FILLED_BY_PANEL = ("geometry", "displayName")
# How many missing fields the estimate line names before "and N more".
MISSING_NAMED = 2


def credits_text(estimate: Any) -> str:
    """An estimate as the panel and the confirmation say it: "1,250 credits"."""
    credits = int(getattr(estimate, "total_credits", 0) or 0)
    return f"{credits:,} credit{'s' if credits != 1 else ''}"


def charged_text(estimate: Any, aoi: Any = None) -> str:
    """What the credits are for: " for 100.0 km²" (or scenes), and when UP42 charges more area than the AOI has,
    that it does (a product's minimum order area): the user sees why a small AOI costs as much as a large one."""
    size, unit = getattr(estimate, "total_size", None), str(getattr(estimate, "unit", "") or "")
    if not size:
        return ""
    if unit == "SQ_KM":
        text = f" for {size:,.1f} km²"
        aoi_sqkm = getattr(aoi, "tasked_sqkm", None)
        if aoi_sqkm is not None and size > aoi_sqkm + 0.05:
            text += f", more than the AOI's {aoi_sqkm:,.1f} km² (the product's minimum order area)"
        return text
    if unit == "SCENE":
        return f" for {size:g} scene{'s' if size != 1 else ''}"
    return f" for {size:g} {unit.lower()}"


class SchemaOrderPanel(QWidget):
    """AOI (as for Planet), product, generated form, name, estimate and Place; every request in a task."""

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None, iface: Any = None,
                 parent: Optional[QWidget] = None, service: Optional[ServiceDescriptor] = None):
        super().__init__(parent)
        self.setObjectName("schemaOrderPanel")
        self.iface = iface
        self.service = service or registry.service()
        # Replaceable by tests and scripts: (title, text) -> whether the user agreed.
        self.confirm: Callable[[str, str], bool] = self._ask_confirmation
        self.form_widget: Optional[SchemaForm] = None
        self.product_id: Optional[str] = None
        self.last_order: Optional[Any] = None
        self.last_error: Optional[BaseException] = None
        # Until the user presses Place, an empty required field is not an error (it is listed on the estimate
        # line instead); after it, every problem stays at its field until the order is placed or the product changes.
        self.place_tried = False
        # The values of the product's form the user leaves for another product (its window, cloud cover…).
        self.carried_values: Dict[str, Any] = {}
        factory = client_factory if client_factory is not None else (lambda: None)
        self.products = ProductsWorkflow(factory, self.service, self)
        self.quoting = SchemaQuoteWorkflow(lambda: (self.form(), self.aoi), factory, self.service, self)
        self.placing = SchemaPlaceWorkflow(self.quoting, self._confirm_order, factory, self.service, self)
        self._build()
        self._connect()
        self.reload_settings()

    # -- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        body = scrolling_body(self, "schemaOrderScroll")
        layout = QVBoxLayout(body)
        self.errors = FieldErrors()
        self.aoi_group = AoiGroup(self.iface, self.errors, body, DEFAULT_MAX_SQKM)
        layout.addWidget(self.aoi_group)

        product_group = QGroupBox("2. Product", body)
        product_group.setObjectName("productGroup")
        column = QVBoxLayout(product_group)
        self.product_combo = QComboBox(product_group)
        self.product_combo.setObjectName("up42ProductCombo")
        self.product_combo.setToolTip("The tasking product to order; its order form is below once chosen.")
        # Long product names must not widen a 400 px dock.
        self.product_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.product_combo.setMinimumContentsLength(12)
        self.product_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.reload_products_button = QPushButton("Reload", product_group)
        self.reload_products_button.setObjectName("reloadProductsButton")
        self.reload_products_button.setToolTip("Read the service's tasking products again.")
        self.product_status = QLabel(product_group)
        self.product_status.setObjectName("productStatus")
        self.product_status.setWordWrap(True)
        self.product_status.setStyleSheet(MUTED_STYLE)
        self.product_error = QLabel(product_group)
        self.product_error.setObjectName("productError")
        self.product_error.setWordWrap(True)
        self.product_error.setStyleSheet(ERROR_STYLE)
        self.product_error.hide()
        column.addWidget(self.product_combo)
        column.addWidget(self.reload_products_button, 0, Qt.AlignmentFlag.AlignRight)
        column.addWidget(self.product_status)
        column.addWidget(self.product_error)
        layout.addWidget(product_group)

        self.order_group = QGroupBox("3. Order", body)
        self.order_group.setObjectName("orderFormGroup")
        self.order_layout = QVBoxLayout(self.order_group)
        names_form = QFormLayout()
        names_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.name_edit = QLineEdit(self.order_group)
        self.name_edit.setObjectName("up42NameEdit")
        self.name_edit.setToolTip("The order's name, as it appears in the order list.")
        names_form.addRow("Name *", self.name_edit)
        self.name_error = QLabel(self.order_group)
        self.name_error.setObjectName("up42NameError")
        self.name_error.setStyleSheet(ERROR_STYLE)
        self.name_error.setWordWrap(True)
        self.name_error.hide()
        names_form.addRow(self.name_error)
        self.order_layout.addLayout(names_form)
        self.form_hint = QLabel(NO_PRODUCT, self.order_group)
        self.form_hint.setObjectName("formHint")
        self.form_hint.setWordWrap(True)
        self.form_hint.setStyleSheet(MUTED_STYLE)
        self.order_layout.addWidget(self.form_hint)
        layout.addWidget(self.order_group)

        place_group = QGroupBox("4. Estimate and place", body)
        place_group.setObjectName("placeGroup")
        column = QVBoxLayout(place_group)
        self.estimate_label = QLabel("No estimate yet.", place_group)
        self.estimate_label.setObjectName("estimateLabel")
        self.estimate_label.setWordWrap(True)
        self.place_button = QPushButton("Place order…", place_group)
        self.place_button.setObjectName("placeButton")
        self.place_button.setToolTip("Check the form, confirm the cost in credits, then place the order (once).")
        self.place_status = QLabel(place_group)
        self.place_status.setObjectName("placeStatus")
        self.place_status.setWordWrap(True)
        column.addWidget(self.estimate_label)
        column.addWidget(self.place_button)
        column.addWidget(self.place_status)
        layout.addWidget(place_group)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.aoi_group.aoiChanged.connect(self._form_changed)
        self.aoi_group.problem.connect(lambda message: self.errors.show({"geometry": message}))
        self.product_combo.currentIndexChanged.connect(self._product_chosen)
        self.reload_products_button.clicked.connect(self.load_products)
        self.name_edit.textChanged.connect(self._form_changed)
        self.place_button.clicked.connect(self.place_order)
        self.products.productsLoaded.connect(self._products_loaded)
        self.products.schemaLoaded.connect(self._schema_loaded)
        self.products.failed.connect(self._read_failed)
        for flow in (self.products, self.quoting, self.placing):
            flow.clientUnavailable.connect(self._client_unavailable)
        self.quoting.unavailable.connect(self._estimate_unavailable)
        self.quoting.asking.connect(lambda: self.estimate_label.setText("Estimating…"))
        self.quoting.quoted.connect(self._estimated)
        self.quoting.failed.connect(self._estimate_failed)
        # Back to the form the held estimate answers (nothing asked): that estimate is the one to show.
        self.quoting.unchanged.connect(lambda: self.quoting.quote is not None and self._estimated(self.quoting.quote))
        self.quoting.waiting.connect(lambda seconds: self.estimate_label.setText(
            f"Estimating… (UP42 has not answered yet; asking again in {seconds:.0f} s)"))
        self.quoting.retrying.connect(lambda seconds, _error: self.estimate_label.setText(
            f"{self.estimate_label.text()} Asking again in {seconds:.0f} s."))
        self.quoting.cancelled.connect(lambda: self.estimate_label.setText(
            "No estimate: it was cancelled. Change the form, or press Place, to ask again."))
        self.placing.checked.connect(self._place_checked)
        self.placing.busy.connect(lambda busy: self.place_button.setEnabled(not busy))
        self.placing.priceFailed.connect(self._estimate_failed)
        self.placing.declined.connect(lambda: self.place_status.setText("Not placed: you cancelled."))
        self.placing.sending.connect(lambda: self.place_status.setText("Placing the order…"))
        self.placing.placed.connect(self._placed)
        self.placing.failed.connect(self._place_failed)

    # -- what the user filled in -----------------------------------------------------------------------

    aoi = property(lambda self: self.aoi_group.aoi)

    def form(self) -> Optional[SchemaOrderForm]:
        """The form as the user has it now (None until a product's form is shown)."""
        if self.form_widget is None or self.product_id is None:
            return None
        return SchemaOrderForm(self.product_id, self.form_widget.schema, self.form_widget.values(),
                               self.name_edit.text(), self.product_combo.currentText())

    def reload_settings(self) -> None:
        """The settings changed (or the panel was made): read the products again."""
        self.load_products()

    def load_products(self) -> None:
        self.product_error.hide()
        if self.products.load_products():
            self.product_status.setText(LOADING_PRODUCTS)
            self.reload_products_button.setEnabled(False)

    def _products_loaded(self, products: list) -> None:
        if sip.isdeleted(self.product_combo):
            return
        self.reload_products_button.setEnabled(True)
        chosen = self.product_id
        self.product_combo.blockSignals(True)
        self.product_combo.clear()
        self.product_combo.addItem(CHOOSE_PRODUCT, None)
        for product in products:
            self.product_combo.addItem(product.label, product.id)
            self.product_combo.setItemData(self.product_combo.count() - 1, product.description or product.label,
                                           Qt.ItemDataRole.ToolTipRole)
        self.product_combo.setCurrentIndex(max(0, self.product_combo.findData(chosen)) if chosen else 0)
        self.product_combo.blockSignals(False)
        self.product_status.setText(f"{len(products)} tasking product{'s' if len(products) != 1 else ''}.")

    def choose_product(self, product_id: str) -> None:
        """Choose a product by id (as picking it in the list does)."""
        self.product_combo.setCurrentIndex(self.product_combo.findData(product_id))

    def _product_chosen(self, *_args) -> None:
        product_id = self.product_combo.currentData()
        if self.form_widget is not None:
            # Another product: what the user filled in is offered to its form (what it accepts of it).
            self.carried_values = self.form_widget.values()
        self._drop_form()
        self.product_id = product_id
        self.place_tried = False
        if not product_id:
            self.form_hint.setText(NO_PRODUCT)
            self._form_changed()
            return
        self.form_hint.setText("Reading the product's order form…")
        self.products.load_schema(product_id)

    def _drop_form(self) -> None:
        if self.form_widget is not None:
            self.form_widget.hide()
            self.form_widget.deleteLater()
            self.form_widget = None

    def _schema_loaded(self, product_id: str, schema: Dict[str, Any]) -> None:
        if sip.isdeleted(self.order_layout) or product_id != self.product_id:
            return
        self._drop_form()
        self.form_widget = SchemaForm(schema, self.order_group, excluded=FILLED_BY_PANEL)
        self.form_widget.setObjectName("up42SchemaForm")
        self.form_widget.carry_over(self.carried_values)
        self.form_widget.changed.connect(self._form_changed)
        self.order_layout.addWidget(self.form_widget)
        self.form_hint.setText("Fields marked * are required; the AOI is the map's.")
        self._form_changed()

    def _read_failed(self, what: str, error: BaseException) -> None:
        self.reload_products_button.setEnabled(True)
        text = getattr(error, "message", None) or str(error)
        message = f"The products could not be read: {text}" if what == "products" else \
            f"The product's order form could not be read: {text}"
        self.product_error.setText(message)
        self.product_error.show()
        self.product_status.setText("")

    # -- errors at their fields ------------------------------------------------------------------------

    def show_errors(self, problems: Dict[str, str]) -> None:
        """Each problem at its field: the AOI's under the map tools, the name's under it, the product's under
        the list, the rest in the generated form (at its field, or above it)."""
        problems = dict(problems)
        self.errors.show({"geometry": problems.pop("aoi")} if "aoi" in problems else {})
        name = problems.pop("displayName", None)
        self.name_error.setText(name or "")
        self.name_error.setVisible(bool(name))
        product = problems.pop("product", None)
        self.product_error.setText(product or "")
        self.product_error.setVisible(bool(product))
        if self.form_widget is not None:
            self.form_widget.clear_errors()
            if problems:
                self.form_widget.show_errors(problems)

    # -- estimate --------------------------------------------------------------------------------------

    def _form_changed(self, *_args) -> None:
        self.place_status.setText("")
        self.quoting.schedule()

    def _is_empty(self, path: str) -> bool:
        editor = self.form_widget.editor(path) if self.form_widget is not None else None
        return editor is not None and editor.value() is UNSET

    def _placing_problems(self) -> Dict[str, str]:
        """After Place was pressed: every problem Place found (the name's and the AOI's too), kept at its field."""
        if not self.place_tried:
            return {}
        return problems_of(self.service.forms, self.form(), self.aoi, for_order=True)

    def _estimate_unavailable(self, problems: Dict[str, str]) -> None:
        # While the user fills the form in, only a value they gave that is wrong is worth a red word: an empty
        # required field is named on the estimate line instead (all of them go red when they press Place).
        missing = [key for key in problems if self._is_empty(key)]
        wrong = {k: v for k, v in problems.items() if k not in ("aoi", "product", "displayName") and k not in missing}
        self.show_errors({**wrong, **self._placing_problems()})
        pieces = [text for key, text in (("product", "a product"), ("aoi", "an AOI")) if key in problems]
        if pieces:
            self.estimate_label.setText(f"No estimate: choose {' and '.join(pieces)}.")
        elif missing:
            titles = [self.form_widget.title_of(key) for key in missing]
            named = ", ".join(titles[:MISSING_NAMED]) + (
                f" and {len(titles) - MISSING_NAMED} more" if len(titles) > MISSING_NAMED else "")
            self.estimate_label.setText(f"No estimate: fill in {named} (marked *)."
                                        + (" Also fix the marked fields." if wrong else ""))
        else:
            self.estimate_label.setText("No estimate: fix the marked fields.")

    def _estimated(self, estimate: Any) -> None:
        refused = estimate_problems(self.service.forms, estimate)
        if refused:
            self.show_errors({**self._placing_problems(), **refused})
            self.estimate_label.setText("The service refused the order as it stands (see the marked fields).")
            return
        self.show_errors(self._placing_problems())
        self.estimate_label.setText(f"Estimate: {credits_text(estimate)}{charged_text(estimate, self.aoi)}")

    def _estimate_failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(self.service.forms.form_errors(error.field_errors))
            self.estimate_label.setText("The service refused the order as it stands (see the marked fields).")
            return
        text = getattr(error, "message", None) or str(error)
        self.estimate_label.setText(f"No estimate: {text}")

    # -- place -----------------------------------------------------------------------------------------

    def place_order(self) -> None:
        """Check the form (nothing is sent if it is wrong), confirm the cost, then place the order in a task."""
        self.place_tried = True
        self.placing.place(self.form(), self.aoi)
        if not self.place_button.isEnabled() and self.placing.task is None:
            # The form changed since the last estimate: Place asks for it first (the one shown is outdated),
            # then the user confirms that cost.
            self.estimate_label.setText("Estimating…")
            self.place_status.setText("Getting UP42's estimate of the form as it stands; you confirm the cost next.")

    def _confirm_order(self, form: SchemaOrderForm, estimate: Any) -> bool:
        text = (f"Place the order “{form.name.strip()}” for {form.product_label}?\n\n"
                f"It costs {credits_text(estimate)}{charged_text(estimate, self.aoi)} (UP42's estimate).")
        return self.confirm("Place order", text)

    def _place_checked(self, problems: Dict[str, str]) -> None:
        self.show_errors(problems)
        if problems:
            self.place_status.setText("Fix the marked fields; nothing was sent.")
            self._scroll_to_first_error()

    def _scroll_to_first_error(self) -> None:
        """Place is at the bottom of a long form: the first marked field is brought into view."""
        scroll = self.findChild(QScrollArea, "schemaOrderScroll")
        marked = [label for label in self.findChildren(QLabel)
                  if label.styleSheet() == ERROR_STYLE and label.text() and not label.isHidden()]
        if scroll is None or not marked:
            return
        body = scroll.widget()
        first = min(marked, key=lambda label: label.mapTo(body, label.rect().topLeft()).y())
        # Its field sits above the error line: leave room for it.
        scroll.ensureWidgetVisible(first, 0, 80)

    def _placed(self, order: Any) -> None:
        self.last_order = order
        self.place_tried = False
        self.place_status.setText(f"Placed: {order.name or order.id}.")
        self._push_message(names.MESSAGE_TITLE, f"UP42 order “{order.name or order.id}” placed "
                           f"({order.status or 'status not known yet'}).", Qgis.MessageLevel.Success, 15)

    def _place_failed(self, error: BaseException) -> None:
        self.last_error = error
        text = getattr(error, "message", None) or str(error)
        if isinstance(error, OrderCreationUncertain):
            # Never sent again from here: the user checks the order list first.
            self.place_status.setText(f"It is not known whether the order was placed: {text}")
            self._push_message("Order may have been placed", text, Qgis.MessageLevel.Warning, 0)
            return
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(self.service.forms.form_errors(error.field_errors))
            self.place_status.setText("The service refused the order (see the marked fields); nothing was placed.")
            return
        self.place_status.setText(f"Not placed: {text}")
        self._push_message("Order not placed", text, Qgis.MessageLevel.Critical, 0)

    # -- messages --------------------------------------------------------------------------------------

    def _push_message(self, title: str, text: str, level=Qgis.MessageLevel.Warning, duration: int = 10) -> None:
        if self.iface is not None:
            self.iface.messageBar().pushMessage(title, text, level, duration)

    def _client_unavailable(self, purpose: str, error: Optional[BaseException]) -> None:
        self.reload_products_button.setEnabled(True)
        reason = str(error) if error is not None else ("the plugin is not configured. Open the settings and "
                                                       "enter your UP42 user name and password, or use the sandbox.")
        self.product_status.setText(f"Cannot {purpose}: {reason}")

    def _ask_confirmation(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    # -- lifecycle -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel this panel's tasks, release its map tools and take its footprints off the canvas."""
        for flow in (self.products, self.quoting, self.placing):
            flow.shutdown()
        self.aoi_group.shutdown()
