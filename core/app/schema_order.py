"""A new order on a service whose order form comes from a product's JSON Schema (UP42): its products and each
product's schema read in tasks, the estimate as the form changes (the latest question wins), and the order
checked, confirmed with its cost and placed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from qgis.PyQt.QtCore import QObject, pyqtSignal

from .. import names
from ..aoi import geometry_to_geojson
from ..errors import ValidationError
from ..services.base import ServiceDescriptor
from ..tasks import ApiTask, TaskFeedback, run_in_background
from .decisions import remember_estimate
from .latest import LatestOnly
from .quote import QuoteWorkflow
from .workflow import Workflow, cancel_task

# The estimate needs a name in its body; until the user typed one, it is priced under this one.
ESTIMATE_NAME = "Estimate"
NO_PRODUCT = "Choose a product first."
NO_AOI = "Draw an area of interest on the map, or use a selected feature."


@dataclass(frozen=True)
class SchemaOrderForm:
    """What the user filled in: the chosen product, its schema, the generated form's params and the order's name."""

    product_id: str
    schema: Mapping[str, Any]
    params: Dict[str, Any] = field(default_factory=dict)
    name: str = ""
    product_label: str = ""


def aoi_geojson(aoi: Any) -> Dict[str, Any]:
    """The polygon the service will image (a point's square, a strip's band, or the area) as GeoJSON."""
    return geometry_to_geojson(aoi.tasked_geometry())


def problems_of(forms: Any, form: Optional[SchemaOrderForm], aoi: Any, *, for_order: bool) -> Dict[str, str]:
    """What keeps the form from being priced (or, `for_order`, placed), by form path ("aoi" for the map's,
    "displayName" for the name): checked against the product's schema before anything is sent."""
    if form is None:
        return {"product": NO_PRODUCT}
    problems: Dict[str, str] = {}
    if aoi is None:
        problems["aoi"] = NO_AOI
    name = form.name if for_order else (form.name.strip() or ESTIMATE_NAME)
    try:
        forms.check_params(form.schema, form.params, name)
    except ValidationError as error:
        problems.update(forms.form_errors(error.field_errors))
    return problems


def request_body(forms: Any, form: SchemaOrderForm, aoi: Any, *, for_order: bool) -> Dict[str, Any]:
    name = form.name.strip() if for_order else (form.name.strip() or ESTIMATE_NAME)
    return forms.order_request(form.product_id, name, form.params, aoi_geojson(aoi))


class ProductsWorkflow(Workflow):
    """The service's tasking products and the schema of the chosen one, each read in a task."""

    productsLoaded = pyqtSignal(list)  # noqa: N815 - the data products
    schemaLoaded = pyqtSignal(str, dict)  # noqa: N815 - product id, its JSON Schema
    failed = pyqtSignal(str, object)  # what was being read ("products" or "schema"), the exception

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None):
        super().__init__(client_factory, service, parent)
        self.schemas: Dict[str, Dict[str, Any]] = {}
        self.task: Optional[ApiTask] = None
        self.schema_task: Optional[ApiTask] = None
        self._schema_tokens = LatestOnly()

    def load_products(self) -> bool:
        """Read the products in a task; False when there is no client (clientUnavailable said why)."""
        client = self.client("read the products")
        if client is None:
            return False
        cancel_task(self.task, detach=True)
        self.task = run_in_background(names.task_description("read UP42's products"),
                                      lambda feedback: client.data_products(),
                                      on_success=self.productsLoaded.emit,
                                      on_error=lambda error: self.failed.emit("products", error))
        return True

    def load_schema(self, product_id: str) -> None:
        """The product's schema: at once when read before, else in a task; only the last product asked is told."""
        token = self._schema_tokens.next()
        if product_id in self.schemas:
            self.schemaLoaded.emit(product_id, self.schemas[product_id])
            return
        client = self.client("read the product's order form")
        if client is None:
            return

        def loaded(schema: Dict[str, Any]) -> None:
            self.schemas[product_id] = schema
            if self._schema_tokens.is_current(token):
                self.schemaLoaded.emit(product_id, schema)
            else:
                self.stale_answers_ignored += 1

        def failed(error: BaseException) -> None:
            if self._schema_tokens.is_current(token):
                self.failed.emit("schema", error)

        self.schema_task = run_in_background(names.task_description("read a product's order form"),
                                             lambda feedback: client.schema(product_id),
                                             on_success=loaded, on_error=failed)

    def shutdown(self) -> None:
        self._schema_tokens.invalidate()
        cancel_task(self.task, detach=True)
        cancel_task(self.schema_task, detach=True)


class SchemaQuoteWorkflow(QuoteWorkflow):
    """The estimate in credits of the form as it stands (debounced, latest wins); `current()` gives
    (SchemaOrderForm or None, Aoi or None)."""

    def problems(self, form: Any, aoi: Any) -> dict:
        return problems_of(self.forms, form, aoi, for_order=False)

    def pricing_body(self, form: Any, aoi: Any, now: Any = None) -> Any:
        return request_body(self.forms, form, aoi, for_order=False)  # an estimate does not depend on the clock


# (form, estimate) -> whether the user agreed to place the order at that cost.
Confirm = Callable[[SchemaOrderForm, Any], bool]


class SchemaPlaceWorkflow(Workflow):
    """Check the form against the schema (nothing is sent if it is wrong), make sure the cost is known, ask
    `confirm`, then create the order in a task: one request, never sent again by this workflow (the client
    settles a lost answer itself and says OrderCreationUncertain when it cannot)."""

    checked = pyqtSignal(dict)  # the form's problems by path (empty: fine), before anything is sent
    busy = pyqtSignal(bool)  # a price or an order is on its way (the caller disables placing)
    priceFailed = pyqtSignal(object)  # noqa: N815 - no price, no order (the exception)
    declined = pyqtSignal()  # the user did not confirm; nothing placed
    sending = pyqtSignal()  # the order is being created
    placed = pyqtSignal(object)  # the created order, read back
    failed = pyqtSignal(object)  # not placed, or may have been (OrderCreationUncertain): the exception

    def __init__(self, quote: SchemaQuoteWorkflow, confirm: Confirm, client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None):
        super().__init__(client_factory, service, parent)
        self.quote = quote
        self.confirm = confirm
        self.task: Optional[ApiTask] = None
        self.placed_estimate: Optional[int] = None  # credits of the order being placed, as confirmed

    def place(self, form: Optional[SchemaOrderForm], aoi: Any) -> None:
        if self.task is not None:
            return  # one order at a time: a second click while it is on its way sends nothing
        problems = problems_of(self.forms, form, aoi, for_order=True)
        self.checked.emit(problems)
        if problems:
            return
        if self.quote.is_current():
            self._confirm_and_send(form, aoi, self.quote.quote)
            return
        client = self.client("place the order")
        if client is None:
            return
        self.busy.emit(True)

        def priced(estimate: Any) -> None:
            self.busy.emit(False)
            self._confirm_and_send(form, aoi, estimate)

        def failed(error: BaseException) -> None:
            self.busy.emit(False)
            self.priceFailed.emit(error)

        self.quote.price_now(client, form, aoi, on_priced=priced, on_failed=failed,
                             on_cancelled=lambda current: self.busy.emit(False))

    def _confirm_and_send(self, form: SchemaOrderForm, aoi: Any, estimate: Any) -> None:
        refused = estimate_problems(self.forms, estimate)
        if refused:
            # What the estimate refused, the order would be refused for too: said at the fields, nothing sent.
            self.checked.emit(refused)
            return
        if not self.confirm(form, estimate):
            self.declined.emit()
            return
        client = self.client("place the order")
        if client is None:
            return
        body = request_body(self.forms, form, aoi, for_order=True)

        def create(feedback: TaskFeedback) -> Any:
            feedback.raise_if_canceled()  # not sent yet: nothing can have been ordered
            return client.create_order(body, is_canceled=feedback.is_canceled)

        self.busy.emit(True)
        self.sending.emit()
        # Kept with the order: its feasibility options are priced as factors of this estimate.
        self.placed_estimate = getattr(estimate, "total_credits", None)
        self.task = run_in_background(names.task_description("place order"), create,
                                      on_success=self._placed, on_error=self._failed,
                                      on_cancel=lambda: self._cancelled(self.task))

    def _ended(self) -> None:
        self.task = None
        self.busy.emit(False)

    def _placed(self, order: Any) -> None:
        self._ended()
        remember_estimate(getattr(order, "id", ""), self.placed_estimate)
        self.placed.emit(order)

    def _failed(self, error: BaseException) -> None:
        self._ended()
        self.failed.emit(error)

    def _cancelled(self, task: Optional[ApiTask]) -> None:
        # A POST cannot be called back: if the order was made before the cancel took effect, it is placed.
        result = task.result if task is not None else None
        if result is not None:
            self._placed(result)
            return
        error = task.exception if task is not None else None
        self._ended()
        if error is not None:
            self.failed.emit(error)

    def shutdown(self) -> None:
        cancel_task(self.task, detach=True)


def estimate_problems(forms: Any, estimate: Any) -> Dict[str, str]:
    """The estimate's refusals (its `errors`) by form path; {} when it priced the order."""
    found: Dict[str, List[str]] = {}
    for problem in getattr(estimate, "errors", None) or ():
        for path, messages in (problem.field_errors or {"": [problem.message]}).items():
            found.setdefault(path or "non_field_errors", []).extend(messages)
    return forms.form_errors(found) if found else {}
