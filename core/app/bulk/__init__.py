"""The bulk engine: create orders from a layer, edit or cancel many orders, journaled first and resumed after a crash."""

from .edit_workflow import BulkEditWorkflow
from .edits import cancel_pairs, cancellations_today, charge_refused_ids, edit_pairs
from .follow import BulkFollowWorkflow
from .job import BulkJob, BulkOutcome, ChunkState, ItemOutcome, needs_cancellation_charge, readable_error
from .journal import (
    JOB_DISMISSED,
    JOB_FINISHED,
    JOB_OPEN,
    LEGACY_SERVICE,
    SCHEMA_VERSION,
    BulkJournal,
    JobSummary,
    JournalJob,
)
from .layer_input import FeatureCheck, FieldMapping, LayerSnapshot, ValidationReport, validate_layer
from .lease import JournalLease, close_when_done
from .order_workflow import BulkOrderWorkflow, mapping_problem
from .pricing import PRICING_CHUNK_SIZE, PricingReport, chunked, price_payloads
from .result_layer import job_source, journal_features, journal_result_layer, result_layer, results_by_feature
from .resume import ResumePlan, clients_by_service, plan_resume, registry_client, resume_jobs, unfinished_jobs
from .runner import BulkTaskRunner, active_client
from .service_rules import bulk_rules, field_labels, mappable_fields

__all__ = [
    "JOB_DISMISSED", "JOB_FINISHED", "JOB_OPEN", "LEGACY_SERVICE", "PRICING_CHUNK_SIZE", "SCHEMA_VERSION",
    "BulkEditWorkflow", "BulkFollowWorkflow", "BulkJob", "BulkJournal", "BulkOrderWorkflow", "BulkOutcome",
    "BulkTaskRunner", "ChunkState", "FeatureCheck", "FieldMapping", "ItemOutcome", "JournalLease", "active_client",
    "clients_by_service", "close_when_done", "mapping_problem",
    "JobSummary", "JournalJob", "LayerSnapshot", "PricingReport", "ResumePlan", "ValidationReport", "bulk_rules",
    "cancel_pairs", "cancellations_today", "charge_refused_ids", "chunked", "edit_pairs", "field_labels",
    "job_source", "journal_features", "journal_result_layer", "mappable_fields", "needs_cancellation_charge",
    "plan_resume", "price_payloads", "readable_error", "registry_client", "result_layer", "results_by_feature",
    "resume_jobs", "unfinished_jobs", "validate_layer",
]
