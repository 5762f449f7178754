"""OpenTelemetry tracing and structured JSON logs.

Spans go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
otherwise they are written as JSON lines under ``PATHWAYS_TRACE_DIR``, where
``pathways trace`` reads them. Only ids and technical attributes are put on
spans: nothing that could identify a person.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from pathways_runtime.settings import Settings


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (the local trace store)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_record(span)) + "\n" for span in spans]
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.writelines(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:  # nothing held open between exports
        return None


def span_record(span: ReadableSpan) -> dict:
    ctx = span.get_span_context()
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": {k: _plain(v) for k, v in (span.attributes or {}).items()},
    }


def _plain(value: object) -> object:
    """Span attribute values as JSON: tuples become lists, bytes (message keys) become text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def new_tracer_provider(settings: Settings) -> TracerProvider:
    """A tracer provider that exports nothing yet: building a service starts no thread and makes no folder."""
    # ParentBased: a trace started upstream keeps its sampling decision in every service, so a sampled
    # inspection is followed whole; the ratio decides for traces started here (1.0: every inspection,
    # as `pathways trace` needs in development; lower it in production).
    sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    return TracerProvider(resource=Resource.create({"service.name": settings.service_name}), sampler=sampler)


def start_span_export(provider: TracerProvider, settings: Settings) -> None:
    """Export the provider's spans (OTLP, or the local JSON-lines store) and make it the global provider."""
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
    else:
        exporter = JsonLinesSpanExporter(settings.trace_dir / f"{settings.service_name}.jsonl")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the current trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        ctx = trace.get_current_span().get_span_context()
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if ctx.is_valid:
            entry["trace_id"] = format(ctx.trace_id, "032x")
            entry["span_id"] = format(ctx.span_id, "016x")
        for key in ("event_id", "event_type", "topic", "schema", "versions", "error", "attempt"):
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(settings.service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
