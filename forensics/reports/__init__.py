"""Reports: one renderer per format behind one interface; the JSON schema is versioned."""

from forensics.reports.interface import Format, Renderer, StreamingRenderer, renderer_for

__all__ = ["Format", "Renderer", "StreamingRenderer", "renderer_for"]
