"""OpenTelemetry tracing and structured JSON logs (structlog).

Spans go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
otherwise they are written as JSON lines under ``PATHWAYS_TRACE_DIR``, where
``pathways trace`` reads them. Only ids and technical attributes are put on
spans: nothing that could identify a person.

Logs are JSON lines on stdout with the trace and span ids and every field a caller passes
(``log.info("delivered", extra={"delivery_id": ..., "latency_ms": ...})`` or structlog's
``log.info("delivered", delivery_id=...)``). A field named like person data is redacted by the
same rule that keeps person data off the bus (``pathways_contracts.privacy``).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from structlog.typing import EventDict, Processor

from pathways_contracts.privacy import is_person_key
from pathways_runtime.settings import Settings


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (the local trace store)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # orjson: a span's line in a seventh of json.dumps's time, on the export thread that shares the GIL
        lines = [orjson.dumps(span_record(span)) + b"\n" for span in spans]
        with self._lock, self._path.open("ab") as out:
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


REDACTED = "[redacted]"
# Added by uvicorn for its coloured console; the JSON line has the plain message already.
_NOISE = frozenset({"color_message"})


def add_trace_context(_: object, __: str, event: EventDict) -> EventDict:
    """The current trace and span ids, so a log line can be found from its trace and back."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"] = format(ctx.trace_id, "032x")
        event["span_id"] = format(ctx.span_id, "016x")
    return event


def redact_person_data(_: object, __: str, event: EventDict) -> EventDict:
    """Any field named like person data is redacted, at any depth: the bus's rule (pathways_contracts.privacy)."""
    for key in [k for k in event if k in _NOISE]:
        del event[key]
    return {key: _redacted(key, value) for key, value in event.items()}


def _redacted(key: object, value: object) -> object:
    if isinstance(key, str) and is_person_key(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redacted(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(None, item) for item in value]
    return value


def log_processors(service: str) -> list[Processor]:
    """What every log line goes through, from the standard library or from structlog alike."""

    def add_service(_: object, __: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        return event

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),  # every ``extra=`` field, none left behind (the standard keys below win)
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        add_service,
        add_trace_context,
        redact_person_data,
    ]


def json_formatter(service: str) -> logging.Formatter:
    """One JSON object per log line: message, level, logger, time, trace ids and every extra field."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=log_processors(service),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def setup_logging(settings: Settings) -> None:
    """JSON lines on stdout for the standard library's loggers and structlog's, through the same processors."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter(settings.service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*log_processors(settings.service_name), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
